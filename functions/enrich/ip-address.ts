// An IP address as numbers, for range look-ups (functions/enrich/ip-facts.ts): IPv4 as one unsigned 32-bit
// number, IPv6 as four. Also whether an address is public, i.e. worth looking up at all.
export type ParsedIp =
  /** `text`: the dotted form (an IPv4-mapped IPv6 address is given as the IPv4 address it carries). */
  | { version: 4; text: string; value: number }
  /** `words`: the 128 bits as four unsigned 32-bit numbers, most significant first. */
  | { version: 6; text: string; words: readonly [number, number, number, number] };

/** The address in `input`, or undefined when it is not one (a zone index, fe80::1%eth0, is dropped). */
export function parseIp(input: unknown): ParsedIp | undefined {
  if (typeof input !== 'string') return undefined;
  const ip = input.trim();
  const v4 = dottedValue(ip);
  if (v4 !== -1) return { version: 4, text: ip, value: v4 };
  const address = ip.split('%')[0]!;
  const h = ipv6Hextets(address);
  if (h === undefined) return undefined;
  if (h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0xffff) {
    const value = ((h[6]! << 16) | h[7]!) >>> 0;
    return { version: 4, text: ipv4Text(value), value };
  }
  return { version: 6, text: address, words: wordsOf(h) };
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * The eight 16-bit groups of an IPv6 address, or undefined when the text is not one (the forms node:net's
 * isIPv6 accepts: at most one "::", groups of 1 to 4 hex digits, optionally a dotted IPv4 tail). Without
 * isIPv6's regular expression, which costs several microseconds per event.
 */
export function ipv6Hextets(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups: number[][] = [];
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h]!;
    const out: number[] = [];
    groups.push(out);
    if (half === '') continue;
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (HEX_GROUP.test(part)) out.push(parseInt(part, 16));
      else if (h === halves.length - 1 && i === parts.length - 1 && part.includes('.')) {
        const value = dottedValue(part);
        if (value === -1) return undefined;
        out.push(value >>> 16, value & 0xffff);
      } else return undefined;
    }
  }
  const [left, right] = groups as [number[], number[] | undefined];
  if (right === undefined) return left.length === 8 ? left : undefined;
  const missing = 8 - left.length - right.length;
  if (missing < 1) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

/** The eight 16-bit groups of a valid IPv6 address (with :: and a dotted IPv4 tail expanded). */
export function expandIPv6(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The value of a dotted IPv4 address as node:net's isIPv4 accepts it (four decimal octets, no leading
 * zeros), or -1. A hand-written scan: per event, it is a tenth of the regular expression's cost.
 */
function dottedValue(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + c - 0x30;
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

export function ipv4Value(dotted: string): number {
  const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

export function wordsOf(hextets: readonly number[]): [number, number, number, number] {
  const w = (i: number) => ((hextets[i]! << 16) | hextets[i + 1]!) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareWords(a: ArrayLike<number>, aAt: number, b: ArrayLike<number>, bAt: number): number {
  for (let i = 0; i < 4; i++) {
    const x = a[aAt + i]!;
    const y = b[bAt + i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

// IPv4 blocks that are not one client on the internet: RFC 6890's special-purpose registry (this network,
// private, shared CGNAT, loopback, link-local, IETF assignments, documentation, benchmarking), multicast,
// and the reserved 240/4 with broadcast.
const IPV4_SPECIAL: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const IPV4_SPECIAL_RANGES = IPV4_SPECIAL.map(([base, bits]) => {
  const start = ipv4Value(base);
  return [start, start + 2 ** (32 - bits) - 1] as const;
});

/**
 * Whether the address can be a client on the public internet: IPv4 outside the special-purpose blocks;
 * IPv6 in global unicast (2000::/3), outside IETF protocol assignments (2001::/23, Teredo included) and
 * the documentation prefixes (2001:db8::/32, 3fff::/20). Private, loopback, link-local, documentation and
 * unique-local addresses get no geo or network facts: no database knows them.
 */
export function isPublicIp(ip: ParsedIp): boolean {
  if (ip.version === 4) {
    for (const [start, end] of IPV4_SPECIAL_RANGES) if (ip.value >= start && ip.value <= end) return false;
    return true;
  }
  const first = ip.words[0];
  if (first >>> 29 !== 0b001) return false; // not in 2000::/3
  if (first >>> 9 === 0x20010000 >>> 9) return false; // 2001::/23
  if (first === 0x20010db8) return false; // 2001:db8::/32
  if (first >>> 12 === 0x3fff0) return false; // 3fff::/20
  return true;
}
