// The demo's visitor networks against the geo-IP and network data the enrich stage uses: each prefix is
// what the demo says it is, so `npm start` shows real countries, data centres and crawler networks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIp, isPublicIp } from '../../../functions/enrich/ip-address.js';
import { mulberry32 } from '../../../local/demo/model.js';
import { addressIn, CRAWLER_PREFIXES, DATA_CENTRE_PREFIXES, HOME_NETWORKS } from '../../../local/demo/visitor-networks.js';
import { realIpFacts } from '../../helpers/ip-facts.js';

const facts = realIpFacts();
const sample = (prefix: string, count = 20) => {
  const random = mulberry32(prefix.length * 7919);
  return Array.from({ length: count }, () => addressIn(prefix, random));
};

describe('the demo visitor networks', () => {
  it.each(Object.entries(HOME_NETWORKS).flatMap(([zone, { country, prefixes }]) => prefixes.map((prefix) => [zone, prefix, country] as const)))(
    '%s: %s is an ISP in %s, not a data centre',
    (_zone, prefix, country) => {
      const found = sample(prefix).map((ip) => facts.lookup(ip));
      expect(found.filter((f) => f.geo_country === country).length).toBeGreaterThanOrEqual(18);
      expect(found.every((f) => f.network_type === null)).toBe(true);
      expect(found.filter((f) => f.asn !== null).length).toBeGreaterThanOrEqual(18);
    },
  );

  it.each(DATA_CENTRE_PREFIXES.map((p) => [p]))('%s is a data centre', (prefix) => {
    for (const ip of sample(prefix)) expect(facts.lookup(ip), ip).toMatchObject({ network_type: 'data_centre' });
  });

  it.each(Object.entries(CRAWLER_PREFIXES).flatMap(([bot, prefixes]) => prefixes.map((p) => [bot, p] as const)))('%s: %s is in its published ranges', (bot, prefix) => {
    for (const ip of sample(prefix)) expect(facts.lookup(ip), ip).toMatchObject({ network_type: 'crawler', network_name: bot === 'googlebot' ? 'Googlebot' : 'bingbot' });
  });

  it('makes public addresses inside the prefix', () => {
    const prefixes = [...Object.values(HOME_NETWORKS).flatMap((n) => n.prefixes), ...DATA_CENTRE_PREFIXES, ...Object.values(CRAWLER_PREFIXES).flat()];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.integer(), (prefix, seed) => {
        const ip = addressIn(prefix, mulberry32(seed));
        const parsed = parseIp(ip);
        expect(parsed && isPublicIp(parsed), ip).toBe(true);
        const [base, bits] = prefix.split('/') as [string, string];
        const inPrefix = (p: ReturnType<typeof parseIp>, b: ReturnType<typeof parseIp>) =>
          p!.version === 4 && b!.version === 4
            ? p!.value >>> (32 - Number(bits)) === b!.value >>> (32 - Number(bits))
            : p!.version === 6 && b!.version === 6 && [0, 1, 2, 3].every((w) => {
                const keep = Math.max(0, Math.min(32, Number(bits) - 32 * w));
                return keep === 0 || p!.words[w]! >>> (32 - keep) === b!.words[w]! >>> (32 - keep);
              });
        expect(inPrefix(parsed, parseIp(base)), `${ip} in ${prefix}`).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
