// The real geo-IP and network data (functions/enrich/ip-facts.ts), loaded once per test worker on first use:
// about a second and 200 MB, so only the tests that enrich pay for it.
import { IpFacts } from '../../functions/enrich/ip-facts.js';

let loaded: IpFacts | undefined;

export function realIpFacts(): IpFacts {
  loaded ??= IpFacts.load();
  return loaded;
}
