// User agent → browser, OS, device and bot flag, with ua-parser-js and isbot. Parsing is the costliest
// step of enrichment (see bench/enrich-cpu.ts) and real traffic repeats a few hundred user agents, so
// results are kept in a small LRU cache.
// ua-parser-js is pinned to 1.x: it is MIT; 2.x is AGPL-3.0, which a deployable product can't impose on its users.
import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';
import type { Enrichment } from '../../schemas/index.js';

export type UserAgentFields = Pick<
  Enrichment,
  'browser_name' | 'browser_version' | 'os_name' | 'os_version' | 'device_type' | 'device_vendor' | 'device_model' | 'is_bot'
>;

// ua-parser-js reports no device type for desktops; these OS names mean one.
const DESKTOP_OS = new Set(['Windows', 'macOS', 'Mac OS', 'Linux', 'Ubuntu', 'Debian', 'Fedora', 'Mint', 'Arch', 'Gentoo',
  'Slackware', 'SUSE', 'openSUSE', 'Red Hat', 'CentOS', 'Chrome OS', 'Chromium OS', 'FreeBSD', 'OpenBSD', 'NetBSD', 'Solaris']);

export const EMPTY_USER_AGENT: Readonly<UserAgentFields> = Object.freeze({
  browser_name: null,
  browser_version: null,
  os_name: null,
  os_version: null,
  device_type: null,
  device_vendor: null,
  device_model: null,
  is_bot: false,
});

const orNull = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

export function parseUserAgent(userAgent: string): UserAgentFields {
  const { browser, os, device } = UAParser(userAgent);
  const bot = isbot(userAgent);
  const deviceType = device.type ?? (!bot && os.name !== undefined && DESKTOP_OS.has(os.name) ? 'desktop' : undefined);
  return {
    browser_name: orNull(browser.name),
    browser_version: orNull(browser.version),
    os_name: orNull(os.name),
    os_version: orNull(os.version),
    device_type: orNull(deviceType),
    device_vendor: orNull(device.vendor),
    device_model: orNull(device.model),
    is_bot: bot,
  };
}

/** parseUserAgent with a bounded LRU cache (a Map in insertion order: the oldest key is evicted first). */
export class UserAgentParser {
  private readonly cache = new Map<string, UserAgentFields>();

  constructor(private readonly maxEntries = 1_000) {}

  parse(userAgent: unknown): Readonly<UserAgentFields> {
    if (typeof userAgent !== 'string' || userAgent.length === 0) return EMPTY_USER_AGENT;
    if (this.maxEntries === 0) return parseUserAgent(userAgent);
    const hit = this.cache.get(userAgent);
    if (hit) {
      // Re-inserting moves the key to the newest end.
      this.cache.delete(userAgent);
      this.cache.set(userAgent, hit);
      return hit;
    }
    const parsed = Object.freeze(parseUserAgent(userAgent));
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userAgent, parsed);
    return parsed;
  }

  get size(): number {
    return this.cache.size;
  }
}
