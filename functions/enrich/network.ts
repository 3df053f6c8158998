// Bots by network: is the client IP in ranges a crawler's operator publishes (networks/crawler-ranges.json,
// from the operators' own files), or in a hosting or cloud provider's autonomous system
// (networks/data-centre-asns.json)? And the bot verdict that combines this with the user agent's.
// Both lists are data files read once per container, beside the code in the Lambda package (serverless.yml).
import type { Enrichment } from '../../schemas/index.js';
import { compareWords, expandIPv6, ipv4Value, wordsOf, type ParsedIp } from './ip-address.js';

export type NetworkFields = Required<Pick<Enrichment, 'network_type' | 'network_name'>>;
export type BotFields = Required<Pick<Enrichment, 'is_bot' | 'bot_reason'>>;

export const CRAWLER_RANGES_FILE = new URL('./networks/crawler-ranges.json', import.meta.url);
export const DATA_CENTRE_ASNS_FILE = new URL('./networks/data-centre-asns.json', import.meta.url);

/** networks/crawler-ranges.json, written by scripts/update-crawler-ranges.ts. */
export interface CrawlerRangesFile {
  about: string;
  /** The registry package the lists come from, name==version. */
  package: string;
  /** When the package's maintainer fetched the operators' files. */
  snapshot: string;
  dataLicense: string;
  lists: {
    id: string;
    operator: string;
    /** What the operator calls the crawlers of the list (Googlebot, bingbot, …): the network_name. */
    label: string;
    /** The operator's file the list copies. */
    upstream: string;
    fetchedAt: string;
    /** CIDR prefixes, IPv4 and IPv6. */
    prefixes: string[];
  }[];
}

/** networks/data-centre-asns.json, kept by hand. */
export interface DataCentreAsnsFile {
  about: string;
  /** The ASN database release whose holder names `holder` repeats (a test checks they still match). */
  checkedAgainst: string;
  checkedOn: string;
  networks: { asn: number; provider: string; holder: string }[];
  leftOut: { asn: number; holder: string; why: string }[];
}

export const NO_NETWORK: Readonly<NetworkFields> = Object.freeze({ network_type: null, network_name: null });

/** Sorted CIDR ranges of one IP version, searched by bisection. */
class RangeSet {
  /** Per range: start and end (1 word for IPv4, 4 for IPv6), the largest end so far, and the list it belongs to. */
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private readonly maxEnds: Uint32Array;
  private readonly lists: Uint16Array;

  constructor(
    private readonly width: 1 | 4,
    ranges: { start: number[]; end: number[]; list: number }[],
  ) {
    // By start, the wider range first: a nested prefix then always follows the one it is in.
    ranges.sort((a, b) => compareAt(a.start, 0, b.start, width) || compareAt(b.end, 0, a.end, width));
    this.starts = new Uint32Array(ranges.length * width);
    this.ends = new Uint32Array(ranges.length * width);
    this.maxEnds = new Uint32Array(ranges.length * width);
    this.lists = new Uint16Array(ranges.length);
    ranges.forEach((r, i) => {
      this.starts.set(r.start, i * width);
      this.ends.set(r.end, i * width);
      const widest = i === 0 || compareAt(this.maxEnds, (i - 1) * width, r.end, width) < 0 ? r.end : this.maxEnds.slice((i - 1) * width, i * width);
      this.maxEnds.set(widest, i * width);
      this.lists[i] = r.list;
    });
  }

  /** The lowest list index among the ranges holding the address, or -1. */
  find(address: ArrayLike<number>): number {
    const w = this.width;
    let lo = 0;
    let hi = this.lists.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(this.starts, mid * w, address, w) <= 0) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back while an earlier range may still reach the address (prefixes nest, so this is short).
    let best = -1;
    for (let i = last; i >= 0 && compareAt(this.maxEnds, i * w, address, w) >= 0; i--) {
      if (compareAt(this.ends, i * w, address, w) >= 0 && (best === -1 || this.lists[i]! < best)) best = this.lists[i]!;
    }
    return best;
  }
}

/** a[at…] against b[0…], over 1 word (IPv4) or 4 (IPv6). */
function compareAt(a: ArrayLike<number>, at: number, b: ArrayLike<number>, width: 1 | 4): number {
  if (width === 4) return compareWords(a, at, b, 0);
  const x = a[at]!;
  const y = b[0]!;
  return x === y ? 0 : x < y ? -1 : 1;
}

function cidrRange(prefix: string): { version: 4 | 6; start: number[]; end: number[] } {
  const [address, bitsText] = prefix.split('/') as [string, string | undefined];
  if (address.includes(':')) {
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    const words = wordsOf(expandIPv6(address));
    const start = words.map((word, i) => maskWord(word, bits - 32 * i, false));
    const end = words.map((word, i) => maskWord(word, bits - 32 * i, true));
    return { version: 6, start, end };
  }
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const value = ipv4Value(address);
  return { version: 4, start: [maskWord(value, bits, false)], end: [maskWord(value, bits, true)] };
}

/** A 32-bit word with the bits past `keep` cleared (start) or set (end). */
function maskWord(word: number, keep: number, fill: boolean): number {
  if (keep >= 32) return word >>> 0;
  if (keep <= 0) return fill ? 0xffffffff : 0;
  const host = 2 ** (32 - keep) - 1;
  return fill ? (word | host) >>> 0 : (word & ~host) >>> 0;
}

export class NetworkLists {
  private readonly v4: RangeSet;
  private readonly v6: RangeSet;
  private readonly crawlerNames: string[];
  private readonly dataCentres: Map<number, string>;

  constructor(readonly crawlers: CrawlerRangesFile, readonly dataCentreAsns: DataCentreAsnsFile) {
    this.crawlerNames = crawlers.lists.map((l) => l.label);
    const v4: { start: number[]; end: number[]; list: number }[] = [];
    const v6: { start: number[]; end: number[]; list: number }[] = [];
    crawlers.lists.forEach((list, index) => {
      for (const prefix of list.prefixes) {
        const { version, start, end } = cidrRange(prefix);
        (version === 4 ? v4 : v6).push({ start, end, list: index });
      }
    });
    this.v4 = new RangeSet(1, v4);
    this.v6 = new RangeSet(4, v6);
    this.dataCentres = new Map(dataCentreAsns.networks.map((n) => [n.asn, n.provider]));
  }

  /** What the network of a public address says: a crawler's published range first, else a data centre's AS. */
  classify(ip: ParsedIp, asn: number | null): Readonly<NetworkFields> {
    const list = ip.version === 4 ? this.v4.find([ip.value]) : this.v6.find(ip.words);
    if (list !== -1) return { network_type: 'crawler', network_name: this.crawlerNames[list]! };
    const provider = asn === null ? undefined : this.dataCentres.get(asn);
    if (provider !== undefined) return { network_type: 'data_centre', network_name: provider };
    return NO_NETWORK;
  }

  get prefixCount(): number {
    return this.crawlers.lists.reduce((n, l) => n + l.prefixes.length, 0);
  }
}

/**
 * One bot verdict from the user agent's and the network's. A crawler's published range is the strongest
 * evidence (it confirms a crawler's user agent, and catches one that hides it); then a bot user agent;
 * then a browser user agent from a data centre, which is automation far more often than a person.
 */
export function botVerdict(userAgentBot: boolean, network: NetworkFields['network_type']): BotFields {
  if (network === 'crawler') return { is_bot: true, bot_reason: 'crawler_network' };
  if (userAgentBot) return { is_bot: true, bot_reason: 'user_agent' };
  if (network === 'data_centre') return { is_bot: true, bot_reason: 'data_centre' };
  return { is_bot: false, bot_reason: null };
}
