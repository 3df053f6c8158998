import { describe, expect, it } from 'vitest';
import { anonymizeIp } from '../../../../functions/enrich/ip.js';

describe('anonymizeIp', () => {
  it.each([
    ['203.0.113.9', '203.0.113.0'],
    ['198.51.100.255', '198.51.100.0'],
    ['  192.0.2.1 ', '192.0.2.0'],
  ])('zeroes the last octet of IPv4 %s', (input, expected) => {
    expect(anonymizeIp(input)).toBe(expected);
  });

  it.each([
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:0DB8:85A3:0000:0000:8A2E:0370:7334', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8::'],
    ['2001:0:0:1::1', '2001::'],
    ['fe80::1%eth0', 'fe80::'],
    ['::1', '::'],
    ['64:ff9b::192.0.2.33', '64:ff9b::'],
  ])('keeps only the first 48 bits of IPv6 %s', (input, expected) => {
    expect(anonymizeIp(input)).toBe(expected);
  });

  it.each([
    ['::ffff:203.0.113.9', '203.0.113.0'],
    ['::FFFF:cb00:7109', '203.0.113.0'],
  ])('treats IPv4-mapped IPv6 %s as the IPv4 client it is', (input, expected) => {
    expect(anonymizeIp(input)).toBe(expected);
  });

  it.each([['not-an-ip'], ['256.1.1.1'], ['203.0.113.9:443'], ['203.0.113.9, 10.0.0.1'], ['2001:db8::g'], [''], [42], [undefined]])(
    'drops %s, which is not an IP address',
    (input) => {
      expect(anonymizeIp(input)).toBeUndefined();
    },
  );
});
