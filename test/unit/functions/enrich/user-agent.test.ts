import { describe, expect, it } from 'vitest';
import { EMPTY_USER_AGENT, parseUserAgent, UserAgentParser } from '../../../../functions/enrich/user-agent.js';

// Real user agents of current browsers and crawlers.
const UA = {
  chromeWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36',
  firefoxUbuntu: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  googlebotSmartphone:
    'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

describe('parseUserAgent', () => {
  it('Chrome on Windows: a desktop, though ua-parser-js reports no device type', () => {
    expect(parseUserAgent(UA.chromeWindows)).toEqual({
      browser_name: 'Chrome',
      browser_version: '131.0.0.0',
      os_name: 'Windows',
      os_version: '10',
      device_type: 'desktop',
      device_vendor: null,
      device_model: null,
      is_bot: false,
    });
  });

  it('Safari on iPhone: mobile, Apple iPhone', () => {
    expect(parseUserAgent(UA.safariIphone)).toEqual({
      browser_name: 'Mobile Safari',
      browser_version: '18.1',
      os_name: 'iOS',
      os_version: '18.1',
      device_type: 'mobile',
      device_vendor: 'Apple',
      device_model: 'iPhone',
      is_bot: false,
    });
  });

  it('Chrome on Android: mobile, with vendor and model', () => {
    expect(parseUserAgent(UA.chromeAndroid)).toMatchObject({
      browser_name: 'Chrome',
      browser_version: '131.0.6778.81',
      os_name: 'Android',
      os_version: '14',
      device_type: 'mobile',
      device_vendor: 'Google',
      device_model: 'Pixel 8',
      is_bot: false,
    });
  });

  it('Firefox on Ubuntu: desktop, OS without a version', () => {
    expect(parseUserAgent(UA.firefoxUbuntu)).toMatchObject({
      browser_name: 'Firefox',
      browser_version: '133.0',
      os_name: 'Ubuntu',
      os_version: null,
      device_type: 'desktop',
      is_bot: false,
    });
  });

  it.each([['Googlebot', UA.googlebot], ['Googlebot smartphone', UA.googlebotSmartphone]])('%s is a bot, never a desktop', (_name, ua) => {
    const parsed = parseUserAgent(ua);
    expect(parsed.is_bot).toBe(true);
    expect(parsed.device_type).not.toBe('desktop');
  });
});

describe('UserAgentParser (LRU cache)', () => {
  it('returns the same result as parsing, from the cache on a repeat', () => {
    const parser = new UserAgentParser(10);
    const first = parser.parse(UA.chromeWindows);
    expect(first).toEqual(parseUserAgent(UA.chromeWindows));
    expect(parser.parse(UA.chromeWindows)).toBe(first);
    expect(parser.size).toBe(1);
  });

  it('evicts the least recently used entry when full', () => {
    const parser = new UserAgentParser(2);
    const chrome = parser.parse(UA.chromeWindows);
    parser.parse(UA.safariIphone);
    parser.parse(UA.chromeWindows); // now the most recent
    parser.parse(UA.firefoxUbuntu); // evicts Safari
    expect(parser.size).toBe(2);
    expect(parser.parse(UA.chromeWindows)).toBe(chrome);
    const safari = parser.parse(UA.safariIphone);
    expect(parser.parse(UA.safariIphone)).toBe(safari);
  });

  it('gives empty fields for a missing user agent, and parses without caching at size 0', () => {
    expect(new UserAgentParser().parse(undefined)).toEqual(EMPTY_USER_AGENT);
    expect(new UserAgentParser().parse('')).toEqual(EMPTY_USER_AGENT);
    const uncached = new UserAgentParser(0);
    expect(uncached.parse(UA.firefoxUbuntu)).toEqual(parseUserAgent(UA.firefoxUbuntu));
    expect(uncached.size).toBe(0);
  });
});
