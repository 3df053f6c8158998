// Write keys: where they come from (a list in configuration, or an SSM parameter on AWS) and how a
// request's key is checked against them in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from './errors.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export const parseWriteKeys = (value: string): string[] =>
  value
    .split(/[\s,]+/)
    .map((k) => k.trim())
    .filter((k) => k.length > 0);

/** Holds the configured keys as digests, so comparisons are equal-length and constant-time. */
export class WriteKeyVerifier {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** True when the key matches one configured key. Every key is compared, match or not. */
  verify(candidate: string): boolean {
    const d = digest(candidate);
    let matched = false;
    for (const known of this.digests) matched = timingSafeEqual(known, d) || matched;
    return matched;
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
