// IP range → autonomous system (number and holder), from the CSV files of @ip-location-db/asn (RouteViews,
// the five RIRs via the NRO, and DB-IP's IP-to-ASN Lite; CC BY 4.0). The files are parsed once per
// container into sorted typed arrays and searched by bisection. Parsing reads the bytes and makes no
// strings: the IPv4 file has 400,000 rows, and the holders' names are decoded only when asked for.
import { compareWords, expandIPv6, wordsOf, type ParsedIp } from './ip-address.js';

export interface AutonomousSystem {
  asn: number;
  /** The holder's name as the database gives it ("Amazon.com, Inc."), null when it has none. */
  org: string | null;
}

const COMMA = 0x2c;
const NEWLINE = 0x0a;
const COLON = 0x3a;
const QUOTE = 0x22;
const CR = 0x0d;

function lineCount(bytes: Buffer): number {
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  return lines + 1;
}

const hexDigit = (byte: number): number =>
  byte >= 48 && byte <= 57 ? byte - 48 : byte >= 97 && byte <= 102 ? byte - 87 : byte >= 65 && byte <= 70 ? byte - 55 : -1;

/** The IPv6 address at bytes[from, to) as four words into out[at, at + 4); a dotted IPv4 tail goes through expandIPv6. */
function ipv6WordsAt(bytes: Buffer, from: number, to: number, out: Uint32Array, at: number): void {
  const groups: number[] = [];
  let gap = -1;
  let group = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const byte = bytes[i]!;
    if (byte === COLON) {
      if (digits > 0) groups.push(group);
      else gap = groups.length; // the second colon of "::" (or both, at the start)
      if (i === from) i++;
      group = 0;
      digits = 0;
      continue;
    }
    const value = hexDigit(byte);
    if (value === -1) {
      out.set(wordsOf(expandIPv6(bytes.toString('latin1', from, to))), at);
      return;
    }
    group = (group << 4) | value;
    digits++;
  }
  if (digits > 0) groups.push(group);
  const hextets = gap === -1 ? groups : [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  for (let w = 0; w < 4; w++) out[at + w] = ((hextets[2 * w]! << 16) | hextets[2 * w + 1]!) >>> 0;
}

/** The holders' names, copied as bytes from the CSV rows (one per AS) and decoded on first use. */
class HolderNames {
  private bytes = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  /** asn → start * 4096 + length in `bytes`. */
  private readonly spans = new Map<number, number>();
  private readonly decoded = new Map<number, string | null>();

  add(asn: number, source: Buffer, from: number, to: number): void {
    if (this.spans.has(asn)) return;
    if (to > from && source[to - 1] === CR) to--;
    const length = Math.min(to - from, 4095);
    if (this.used + length > this.bytes.length) {
      const grown = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    source.copy(this.bytes, this.used, from, from + length);
    this.spans.set(asn, this.used * 4096 + length);
    this.used += length;
  }

  /** Trims the spare room once every row is in. */
  done(): void {
    this.bytes = Buffer.from(this.bytes.subarray(0, this.used));
  }

  has(asn: number): boolean {
    return this.spans.has(asn);
  }

  get(asn: number): string | null {
    const known = this.decoded.get(asn);
    if (known !== undefined) return known;
    const span = this.spans.get(asn);
    let name: string | null = null;
    if (span !== undefined && span % 4096 > 0) {
      const start = Math.floor(span / 4096);
      const end = start + (span % 4096);
      // Quoted names (those with a comma) double their quotes.
      name = this.bytes[start] === QUOTE ? this.bytes.toString('utf8', start + 1, end - 1).replaceAll('""', '"') : this.bytes.toString('utf8', start, end);
    }
    this.decoded.set(asn, name || null);
    return name || null;
  }
}

export class AsnTable {
  private constructor(
    private readonly v4Starts: Uint32Array,
    private readonly v4Ends: Uint32Array,
    private readonly v4Asns: Uint32Array,
    /** Four words per row. */
    private readonly v6Starts: Uint32Array,
    private readonly v6Ends: Uint32Array,
    private readonly v6Asns: Uint32Array,
    private readonly holders: HolderNames,
  ) {}

  /**
   * From asn-ipv4-num.csv (`first,last,asn,holder`, the addresses as numbers) and asn-ipv6.csv (the same
   * with IPv6 text). Rows must be sorted by address, as the package ships them.
   */
  static fromCsv(ipv4NumCsv: Buffer, ipv6Csv: Buffer): AsnTable {
    const holders = new HolderNames();

    const v4Capacity = lineCount(ipv4NumCsv);
    const v4Starts = new Uint32Array(v4Capacity);
    const v4Ends = new Uint32Array(v4Capacity);
    const v4Asns = new Uint32Array(v4Capacity);
    let v4 = 0;
    for (let at = 0, bytes = ipv4NumCsv; at < bytes.length; ) {
      let first = 0;
      let last = 0;
      let asn = 0;
      let byte = 0;
      while (at < bytes.length && (byte = bytes[at++]!) !== COMMA) first = first * 10 + byte - 48;
      while (at < bytes.length && (byte = bytes[at++]!) !== COMMA) last = last * 10 + byte - 48;
      while (at < bytes.length && (byte = bytes[at++]!) !== COMMA) asn = asn * 10 + byte - 48;
      let end = bytes.indexOf(NEWLINE, at);
      if (end === -1) end = bytes.length;
      if (byte === COMMA) {
        holders.add(asn, bytes, at, end);
        v4Starts[v4] = first;
        v4Ends[v4] = last;
        v4Asns[v4] = asn;
        v4++;
      }
      at = end + 1;
    }

    const v6Capacity = lineCount(ipv6Csv);
    const v6Starts = new Uint32Array(v6Capacity * 4);
    const v6Ends = new Uint32Array(v6Capacity * 4);
    const v6Asns = new Uint32Array(v6Capacity);
    let v6 = 0;
    for (let at = 0, bytes = ipv6Csv; at < bytes.length; ) {
      let end = bytes.indexOf(NEWLINE, at);
      if (end === -1) end = bytes.length;
      const c0 = bytes.indexOf(COMMA, at);
      const c1 = c0 === -1 ? -1 : bytes.indexOf(COMMA, c0 + 1);
      const c2 = c1 === -1 ? -1 : bytes.indexOf(COMMA, c1 + 1);
      if (c2 !== -1 && c2 < end) {
        ipv6WordsAt(bytes, at, c0, v6Starts, v6 * 4);
        ipv6WordsAt(bytes, c0 + 1, c1, v6Ends, v6 * 4);
        let asn = 0;
        for (let i = c1 + 1; i < c2; i++) asn = asn * 10 + bytes[i]! - 48;
        holders.add(asn, bytes, c2 + 1, end);
        v6Asns[v6] = asn;
        v6++;
      }
      at = end + 1;
    }
    holders.done();

    return new AsnTable(
      v4Starts.slice(0, v4), v4Ends.slice(0, v4), v4Asns.slice(0, v4),
      v6Starts.slice(0, v6 * 4), v6Ends.slice(0, v6 * 4), v6Asns.slice(0, v6),
      holders,
    );
  }

  /** The autonomous system announcing the address, or undefined when the database has none for it. */
  lookup(ip: ParsedIp): AutonomousSystem | undefined {
    const row = ip.version === 4 ? this.rowV4(ip.value) : this.rowV6(ip.words);
    if (row === -1) return undefined;
    const asn = (ip.version === 4 ? this.v4Asns : this.v6Asns)[row]!;
    // AS0 marks space that no AS may announce (RFC 7607).
    if (asn === 0) return undefined;
    return { asn, org: this.holders.get(asn) };
  }

  /** The holder of an AS number as the database names it; undefined when no row has the AS. */
  holderOf(asn: number): string | null | undefined {
    return this.holders.has(asn) ? this.holders.get(asn) : undefined;
  }

  get rows(): { ipv4: number; ipv6: number } {
    return { ipv4: this.v4Asns.length, ipv6: this.v6Asns.length };
  }

  /** The last row starting at or below the address, if the address is within it; else -1. */
  private rowV4(value: number): number {
    let lo = 0;
    let hi = this.v4Starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.v4Starts[mid]! <= value) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found !== -1 && value <= this.v4Ends[found]! ? found : -1;
  }

  private rowV6(words: readonly number[]): number {
    let lo = 0;
    let hi = this.v6Asns.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(this.v6Starts, mid * 4, words, 0) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found !== -1 && compareWords(words, 0, this.v6Ends, found * 4) <= 0 ? found : -1;
  }
}
