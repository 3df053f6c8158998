// Where the demo's visitors connect from, so that geo-IP and bots by network show on `npm start`: public
// prefixes of consumer ISPs in each time zone's country, a few hosting and cloud networks (automation
// behind a browser's user agent), and the crawlers' own published ranges. The addresses are only values
// in the demo's events: nothing is ever sent to them. test/unit/demo/visitor-networks.test.ts checks each
// prefix against the geo-IP and network data the enrich stage uses.

/** By the visitor's time zone: the country its prefixes are in, and the prefixes (ISP, as the ASN database names it). */
export const HOME_NETWORKS: Readonly<Record<string, { country: string; prefixes: readonly string[] }>> = {
  'America/New_York': { country: 'US', prefixes: ['72.229.0.0/16' /* Charter */, '71.167.0.0/16' /* Verizon */, '2601::/20' /* Comcast */] },
  'America/Los_Angeles': { country: 'US', prefixes: ['104.172.0.0/14' /* Charter */, '76.90.0.0/15' /* Charter */, '2600:1700::/28' /* AT&T */] },
  'Europe/London': { country: 'GB', prefixes: ['86.128.0.0/10' /* BT */, '82.0.0.0/14' /* Virgin Media */, '2a00:23c0::/28' /* BT */] },
  'Europe/Berlin': { country: 'DE', prefixes: ['91.0.0.0/10' /* Deutsche Telekom */, '84.128.0.0/10' /* Deutsche Telekom */, '2003::/24' /* Deutsche Telekom */] },
  'Europe/Paris': { country: 'FR', prefixes: ['86.192.0.0/11' /* Orange */, '88.160.0.0/11' /* Free */, '2a01:e34::/32' /* Free */] },
  'Europe/Amsterdam': { country: 'NL', prefixes: ['145.53.0.0/16' /* KPN */, '84.24.0.0/13' /* Vodafone Libertel */] },
  'America/Sao_Paulo': { country: 'BR', prefixes: ['189.40.0.0/14' /* Claro, Algar, TIM */, '177.32.0.0/12' /* Telefonica Brasil, Claro */, '2804:14c::/41' /* Claro */] },
  'Asia/Kolkata': { country: 'IN', prefixes: ['122.160.0.0/12' /* Bharti Airtel */, '106.192.0.0/11' /* Bharti Airtel */, '2409:4000::/22' /* Reliance Jio */] },
  'Asia/Tokyo': { country: 'JP', prefixes: ['126.0.0.0/10' /* SoftBank */, '153.128.0.0/9' /* NTT */, '2400:4050::/30' /* NTT */] },
  'Australia/Sydney': { country: 'AU', prefixes: ['1.120.0.0/13' /* Telstra */, '49.176.0.0/12' /* Optus */, '2001:8003::/32' /* Telstra */] },
};

/** Hosting and cloud providers' networks (in functions/enrich/networks/data-centre-asns.json). */
export const DATA_CENTRE_PREFIXES: readonly string[] = [
  '3.80.0.0/12', // Amazon Web Services
  '138.68.0.0/16', // DigitalOcean
  '5.9.0.0/16', // Hetzner
  '51.15.0.0/16', // Scaleway
  '145.239.0.0/16', // OVHcloud
  '35.184.0.0/13', // Google Cloud
  '2a01:4f8::/32', // Hetzner
  '2600:1f00::/24', // Amazon Web Services
];

/** Ranges the crawlers' operators publish (in functions/enrich/networks/crawler-ranges.json), by the demo's bot profile. */
export const CRAWLER_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  googlebot: ['66.249.64.0/27', '66.249.65.0/27', '66.249.66.0/27'],
  bingbot: ['157.55.39.0/24', '207.46.13.0/24', '40.77.167.0/24'],
};

/** A host address in the CIDR prefix, from `random` (values in [0, 1)). IPv4 avoids .0 and .255. */
export function addressIn(prefix: string, random: () => number): string {
  const [base, bitsText] = prefix.split('/') as [string, string];
  const bits = Number(bitsText);
  if (!base.includes(':')) {
    const start = base.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
    const size = 2 ** (32 - bits);
    // Not a .0 or .255 (they read as network and broadcast addresses), and never outside the prefix, however small.
    let value = start + Math.floor(random() * size);
    for (let tries = 0; tries < 16 && ((value & 0xff) === 0 || (value & 0xff) === 0xff); tries++) value = start + Math.floor(random() * size);
    if ((value & 0xff) === 0 || (value & 0xff) === 0xff) value = start + (size > 1 ? 1 : 0);
    value >>>= 0;
    return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
  }
  // The prefix's groups, then random bits for the rest (the host part of each 16-bit group past the prefix).
  const [head] = base.split('::') as [string];
  const fixed = head === '' ? [] : head.split(':').map((h) => parseInt(h, 16));
  const groups = Array.from({ length: 8 }, (_, i) => {
    const prefixBits = Math.max(0, Math.min(16, bits - 16 * i));
    const kept = prefixBits === 0 ? 0 : (fixed[i] ?? 0) & (0xffff << (16 - prefixBits)) & 0xffff;
    const hostMask = prefixBits === 16 ? 0 : 0xffff >>> prefixBits;
    return kept | (Math.floor(random() * 0x10000) & hostMask);
  });
  return groups.map((g) => g.toString(16)).join(':');
}
