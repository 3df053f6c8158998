import fc from 'fast-check';
import { isIPv4, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { expandIPv6, ipv6Hextets, isPublicIp, parseIp, wordsOf } from '../../../../functions/enrich/ip-address.js';

const ipv6Text = fc.ipV6();
const nearlyIp = fc.oneof(
  fc.ipV4(),
  fc.ipV4Extended(),
  fc.ipV6(),
  fc.stringMatching(/^[0-9a-fA-F:.]{0,45}$/),
  fc.constantFrom('1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', ':::', '1::2::3', '::ffff:1.2.3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', 'g::1'),
);

describe('parseIp', () => {
  it('reads IPv4 as one 32-bit number and IPv6 as four words', () => {
    expect(parseIp('81.2.69.142')).toEqual({ version: 4, text: '81.2.69.142', value: 0x510245_8e });
    expect(parseIp(' 255.255.255.255 ')).toEqual({ version: 4, text: '255.255.255.255', value: 0xffffffff });
    expect(parseIp('2001:4860:4801:10::1')).toEqual({ version: 6, text: '2001:4860:4801:10::1', words: [0x20014860, 0x48010010, 0, 1] });
  });

  it('reads an IPv4-mapped IPv6 address as the IPv4 client it carries, and drops a zone index', () => {
    expect(parseIp('::ffff:81.2.69.142')).toEqual({ version: 4, text: '81.2.69.142', value: 0x5102458e });
    expect(parseIp('::FFFF:5102:458e')).toEqual({ version: 4, text: '81.2.69.142', value: 0x5102458e });
    expect(parseIp('fe80::1%eth0')).toMatchObject({ version: 6, text: 'fe80::1' });
  });

  it('accepts exactly what node:net accepts, and agrees with expandIPv6 on the value', () => {
    fc.assert(
      fc.property(nearlyIp, (text) => {
        const parsed = parseIp(text);
        expect(parsed !== undefined, text).toBe(isIPv4(text) || isIPv6(text));
        if (parsed?.version === 6) expect(parsed.words).toEqual(wordsOf(expandIPv6(text)));
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(ipv6Text, (text) => {
        expect(ipv6Hextets(text)).toEqual(expandIPv6(text));
      }),
      { numRuns: 1_000 },
    );
  });

  it.each([[undefined], [42], [''], ['not an ip'], ['203.0.113.9:443'], ['203.0.113.9, 10.0.0.1']])('gives undefined for %s', (input) => {
    expect(parseIp(input)).toBeUndefined();
  });
});

describe('isPublicIp', () => {
  it.each([['8.8.8.8'], ['81.2.69.142'], ['1.0.0.1'], ['223.255.255.254'], ['2003::1'], ['2a01:4f8::1'], ['2001:4860::1'], ['3ffe::1']])('%s is public', (ip) => {
    expect(isPublicIp(parseIp(ip)!)).toBe(true);
  });

  it.each([
    ['0.1.2.3'], ['10.0.0.1'], ['100.64.0.1'], ['127.0.0.1'], ['169.254.1.1'], ['172.16.0.1'], ['172.31.255.255'], ['192.0.0.8'], ['192.0.2.1'],
    ['192.168.1.1'], ['198.18.0.1'], ['198.51.100.7'], ['203.0.113.9'], ['224.0.0.1'], ['240.0.0.1'], ['255.255.255.255'],
    ['::'], ['::1'], ['fe80::1'], ['fc00::1'], ['fd12:3456::1'], ['ff02::1'], ['2001:db8::1'], ['2001::1'], ['2001:1ff::1'], ['3fff::1'], ['64:ff9b::1.2.3.4'],
  ])('%s is not: no database knows it', (ip) => {
    expect(isPublicIp(parseIp(ip)!)).toBe(false);
  });
});
