// IP anonymisation, applied before an address is ever stored: IPv4 keeps its /24 (last octet zeroed),
// IPv6 its /48 (last 80 bits zeroed), the truncation Google Analytics and Matomo use.
import { isIPv4, isIPv6 } from 'node:net';
import { expandIPv6 } from './ip-address.js';

/**
 * The anonymised form of an IP address, or undefined when the input is not one (it is then dropped,
 * not stored). An IPv4-mapped IPv6 address (::ffff:203.0.113.9) is an IPv4 client and is returned as
 * anonymised IPv4, since zeroing its last 80 bits would leave nothing of it.
 */
export function anonymizeIp(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const ip = input.trim();
  if (isIPv4(ip)) return anonymizeIPv4(ip);
  // A zone index (fe80::1%eth0) names the sender's interface, not the address.
  const address = ip.split('%')[0]!;
  if (!isIPv6(address)) return undefined;
  const hextets = expandIPv6(address);
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    return anonymizeIPv4(`${hextets[6]! >> 8}.${hextets[6]! & 0xff}.${hextets[7]! >> 8}.${hextets[7]! & 0xff}`);
  }
  return compressIPv6([hextets[0]!, hextets[1]!, hextets[2]!, 0, 0, 0, 0, 0]);
}

function anonymizeIPv4(ip: string): string {
  const octets = ip.split('.').map(Number);
  return `${octets[0]}.${octets[1]}.${octets[2]}.0`;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
function compressIPv6(hextets: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
