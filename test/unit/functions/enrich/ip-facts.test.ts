// The IP facts with the real databases, as the enrich Lambda loads them. The expected values are the
// databases' at the pinned package versions: a package update that moves one of these addresses shows
// here first (countries and AS numbers of these well-known networks rarely move).
import { describe, expect, it } from 'vitest';
import { NO_IP_FIELDS } from '../../../../functions/enrich/ip-facts.js';
import { realIpFacts } from '../../../helpers/ip-facts.js';

const facts = realIpFacts();

describe('IpFacts with the shipped databases', () => {
  it.each([
    ['8.8.8.8', 'US', 15169, 'Google LLC'],
    ['1.1.1.1', 'AU', 13335, 'Cloudflare, Inc.'],
    ['81.2.69.142', 'GB', 20712, 'Andrews & Arnold Ltd'],
    ['91.10.20.30', 'DE', 3320, 'Deutsche Telekom AG'],
    ['90.12.34.56', 'FR', 3215, 'Orange S.A.'],
    ['126.10.20.30', 'JP', 17676, 'SoftBank Corp.'],
    ['122.161.2.3', 'IN', 24560, 'Bharti Airtel Limited'],
    ['2003:e2:1f3a:8c00::1', 'DE', 3320, 'Deutsche Telekom AG'],
    ['2a01:e0a:1:2::3', 'FR', 12322, 'Free SAS'],
    ['2409:4040::1', 'IN', 55836, 'Reliance Jio Infocomm Limited'],
  ])('%s is in %s, announced by AS%i (%s)', (ip, country, asn, org) => {
    const found = facts.lookup(ip);
    expect(found).toMatchObject({ geo_country: country, asn, asn_org: org });
    expect(found.geo_region).toEqual(expect.any(String));
    expect(found.geo_city).toEqual(expect.any(String));
  });

  it('knows the city where the database is precise', () => {
    expect(facts.lookup('81.2.69.142')).toMatchObject({ geo_region: 'England', geo_city: 'London' });
    expect(facts.lookup('8.8.8.8')).toMatchObject({ geo_region: 'California', geo_city: 'Mountain View' });
  });

  it('flags crawler ranges, IPv4 and IPv6', () => {
    expect(facts.lookup('66.249.66.1')).toMatchObject({ network_type: 'crawler', network_name: 'Googlebot', geo_country: 'US', asn: 15169 });
    expect(facts.lookup('2001:4860:4801:10::1')).toMatchObject({ network_type: 'crawler', network_name: 'Googlebot' });
    expect(facts.lookup('157.55.39.1')).toMatchObject({ network_type: 'crawler', network_name: 'bingbot', asn: 8075 });
    expect(facts.lookup('17.241.75.1')).toMatchObject({ network_type: 'crawler', network_name: 'Applebot' });
  });

  it('flags data-centre networks by their AS', () => {
    expect(facts.lookup('52.95.110.1')).toMatchObject({ network_type: 'data_centre', network_name: 'Amazon Web Services', asn: 16509 });
    expect(facts.lookup('138.68.0.1')).toMatchObject({ network_type: 'data_centre', network_name: 'DigitalOcean', asn: 14061 });
    expect(facts.lookup('2a01:4f8::1')).toMatchObject({ network_type: 'data_centre', network_name: 'Hetzner', geo_country: 'DE' });
    expect(facts.lookup('35.190.0.1')).toMatchObject({ network_type: 'data_centre', network_name: 'Google Cloud', asn: 396982 });
    // A consumer ISP and a network left out on purpose (Cloudflare carries WARP and Private Relay users).
    expect(facts.lookup('91.10.20.30')).toMatchObject({ network_type: null, network_name: null });
    expect(facts.lookup('1.1.1.1')).toMatchObject({ network_type: null, network_name: null });
  });

  it.each([['10.0.0.1'], ['192.168.1.1'], ['127.0.0.1'], ['203.0.113.9'], ['::1'], ['fe80::1'], ['fd00::1'], ['2001:db8::1'], ['not an ip'], [''], [undefined], [42]])(
    'has no facts for %s: private, reserved or not an IP',
    (ip) => {
      expect(facts.lookup(ip)).toEqual(NO_IP_FIELDS);
    },
  );

  it('reads an IPv4-mapped IPv6 address as its IPv4 client', () => {
    expect(facts.lookup('::ffff:81.2.69.142')).toEqual(facts.lookup('81.2.69.142'));
  });

  it('keeps the facts of recent addresses, up to its bound', () => {
    const small = facts.withCacheSize(2);
    const first = small.lookup('8.8.8.8');
    expect(small.lookup('8.8.8.8')).toBe(first);
    small.lookup('1.1.1.1');
    small.lookup('81.2.69.142'); // pushes 8.8.8.8 out
    expect(small.lookup('8.8.8.8')).not.toBe(first);
    expect(small.lookup('8.8.8.8')).toEqual(first);
    expect(facts.withCacheSize(0).lookup('8.8.8.8')).toEqual(first);
  });

  it('still names each listed data-centre AS as the list says: a reassigned number shows here after a database update', () => {
    for (const { asn, holder } of facts.networks.dataCentreAsns.networks) expect(facts.holderOf(asn), `AS${asn}`).toBe(holder);
    for (const { asn, holder } of facts.networks.dataCentreAsns.leftOut) expect(facts.holderOf(asn), `AS${asn}`).toBe(holder);
  });

  it('loaded every file, and says what that took', () => {
    expect(facts.loadStats).toMatchObject({ asnRows: { ipv4: expect.any(Number), ipv6: expect.any(Number) }, crawlerPrefixes: expect.any(Number) });
    expect(facts.loadStats!.bytesRead).toBeGreaterThan(100_000_000);
    expect(facts.loadStats!.asnRows.ipv4).toBeGreaterThan(100_000);
  });
});
