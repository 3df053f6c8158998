// Write keys: where they come from (a list in configuration, or an SSM parameter on AWS), how a
// request's key is checked against them in constant time, and which Snowplow app ids each one vouches for.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../shared/errors.js';
import { UnauthorizedError } from './errors.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** A source's write key and the Snowplow app ids (`aid`) whose events count as that source's. */
export interface WriteKeyEntry {
  key: string;
  snowplowAppIds: string[];
}

const APP_ID_TOKEN = 'aid=';

/**
 * The configured write keys: separated by commas, spaces or newlines, each optionally followed by the
 * Snowplow app ids tied to it, e.g. `wk_web aid=shop-web aid=shop-ios, wk_server`.
 */
export function parseWriteKeys(value: string): WriteKeyEntry[] {
  const entries: WriteKeyEntry[] = [];
  for (const token of value.split(/[\s,]+/).filter((t) => t.length > 0)) {
    if (!token.startsWith(APP_ID_TOKEN)) {
      entries.push({ key: token, snowplowAppIds: [] });
      continue;
    }
    const appId = token.slice(APP_ID_TOKEN.length);
    const owner = entries.at(-1);
    if (!owner) throw new ConfigError(`write keys: ${token} must follow the write key it belongs to`);
    if (appId.length === 0) throw new ConfigError(`write keys: an empty app id after ${owner.key.slice(0, 6)}…`);
    owner.snowplowAppIds.push(appId);
  }
  return entries;
}

/** Holds the configured keys as digests, so comparisons are equal-length and constant-time. */
export class WriteKeyVerifier {
  private readonly digests: Buffer[];
  /** App id → the write key of its source. App ids are public (they are in every page), so a Map will do. */
  private readonly appIds = new Map<string, string>();

  constructor(keys: readonly (string | WriteKeyEntry)[]) {
    const entries = keys.map((k) => (typeof k === 'string' ? { key: k, snowplowAppIds: [] } : k));
    this.digests = entries.map((e) => digest(e.key));
    for (const { key, snowplowAppIds } of entries) {
      for (const appId of snowplowAppIds) {
        const other = this.appIds.get(appId);
        if (other !== undefined && other !== key) throw new ConfigError(`write keys: app id ${appId} is tied to two write keys`);
        this.appIds.set(appId, key);
      }
    }
  }

  /** True when the key matches one configured key. Every key is compared, match or not. */
  verify(candidate: string): boolean {
    const d = digest(candidate);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(known, d) || matched;
    return matched;
  }

  /** The write key a Snowplow app id is tied to, or undefined when no source has it. */
  writeKeyForAppId(appId: string): string | undefined {
    return this.appIds.get(appId);
  }
}

/** The write key from `Authorization: Basic base64(writeKey:)`, as Segment's libraries send it. */
export function writeKeyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, encoded] = header.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() !== 'basic' || !encoded) {
    throw new UnauthorizedError('authorization must be HTTP Basic with the write key as user name');
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? decoded : decoded.slice(0, colon);
}

/**
 * Checks the request's write key: the Basic user name if present, else the key the request carries
 * elsewhere (`writeKey` in the query string or the body: sendBeacon cannot set headers). Returns the
 * key that passed. The key is never part of a message: a refusal says only what was wrong.
 */
export function authenticate(verifier: WriteKeyVerifier, authorization: string | undefined, otherWriteKey: unknown): string {
  const key = writeKeyFromAuthorization(authorization) ?? (typeof otherWriteKey === 'string' ? otherWriteKey : undefined);
  if (!key) throw new UnauthorizedError('missing write key: use HTTP Basic auth with the write key as user name');
  if (!verifier.verify(key)) throw new UnauthorizedError('unknown write key');
  return key;
}
