import { describe, expect, it } from 'vitest';
import { AsnTable } from '../../../../functions/enrich/asn-table.js';
import { parseIp } from '../../../../functions/enrich/ip-address.js';

// The shapes of @ip-location-db/asn's files: `first,last,asn,holder`, IPv4 as numbers, IPv6 as text.
const IPV4_NUM = [
  '16777216,16777471,13335,"Cloudflare, Inc."', // 1.0.0.0 - 1.0.0.255
  '16778240,16779263,38803,Gtelecom Pty Ltd', // 1.0.4.0 - 1.0.7.255
  '16779264,16779519,0,', // 1.0.8.0/24: AS0, announced by nobody
  '3232235520,3232301055,64512,"The ""Quoted"" Network"\r', // 192.168.0.0/16, CRLF line end
].join('\n');
const IPV6 = [
  '::ffff:0.0.0.0,::ffff:255.255.255.255,65000,Mapped', // a dotted tail, read the slow way
  '2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project',
  '2a01:4f8::,2a01:4f8:ffff:ffff:ffff:ffff:ffff:ffff,24940,Hetzner Online GmbH',
  '2a01:4f9::,2a01:4f9::ff,24940,Hetzner Online GmbH', // a range that is not /64-aligned
  '',
].join('\n');

const table = AsnTable.fromCsv(Buffer.from(IPV4_NUM), Buffer.from(IPV6));
const lookup = (ip: string) => table.lookup(parseIp(ip)!);

describe('AsnTable', () => {
  it('finds the row holding an IPv4 address, at both ends of a range', () => {
    expect(lookup('1.0.0.0')).toEqual({ asn: 13335, org: 'Cloudflare, Inc.' });
    expect(lookup('1.0.0.255')).toEqual({ asn: 13335, org: 'Cloudflare, Inc.' });
    expect(lookup('1.0.4.0')).toEqual({ asn: 38803, org: 'Gtelecom Pty Ltd' });
    expect(lookup('1.0.7.255')).toEqual({ asn: 38803, org: 'Gtelecom Pty Ltd' });
  });

  it('finds nothing in a gap, before the first row or after the last', () => {
    expect(lookup('1.0.1.0')).toBeUndefined();
    expect(lookup('0.255.255.255')).toBeUndefined();
    expect(lookup('192.169.0.0')).toBeUndefined();
  });

  it('treats AS0 as no AS, and reads quoted and CRLF-ended holders', () => {
    expect(lookup('1.0.8.1')).toBeUndefined();
    expect(lookup('192.168.3.4')).toEqual({ asn: 64512, org: 'The "Quoted" Network' });
  });

  it('finds IPv6 rows, compared on all 128 bits', () => {
    expect(lookup('2001:200::1')).toEqual({ asn: 2500, org: 'WIDE Project' });
    expect(lookup('2a01:4f8:c17:1::1')).toEqual({ asn: 24940, org: 'Hetzner Online GmbH' });
    expect(lookup('2a01:4f9::ff')).toMatchObject({ asn: 24940 });
    expect(lookup('2a01:4f9::100')).toBeUndefined();
    expect(lookup('2a01:4f7:ffff::1')).toBeUndefined();
    expect(table.lookup({ version: 6, text: '::ffff:1.2.3.4', words: [0, 0, 0xffff, 0x01020304] })).toEqual({ asn: 65000, org: 'Mapped' });
  });

  it('names the holder of an AS, and knows which it has no row for', () => {
    expect(table.holderOf(24940)).toBe('Hetzner Online GmbH');
    expect(table.holderOf(1)).toBeUndefined();
    expect(table.rows).toEqual({ ipv4: 4, ipv6: 4 });
  });
});
