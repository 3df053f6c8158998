// The suppression list of erased people (README "Erase a person"): one JSON object in the lake bucket,
// s3://<lake>/erasure/suppressed-ids.json, holding hashes of ids, never the ids. `npm run erase` and the
// erase function add to it; the enrich stage drops the events of the people on it before anything is
// stored (no event, no bad row), and the Firehose transform drops their rows (events, and the session
// rows of aggregates that name them as visitor) on the way into the lake, so that what was already past
// the enrich stage when the erasure began is caught too.
//
// Three kinds of entry, because an anonymousId can be shared:
//   user       erases every event whose userId it is;
//   anonymous  erases every event with that anonymousId (asked for by name);
//   linked     an anonymousId found on the erased user's identify/alias events: erases the events with
//              that anonymousId and no userId (or an erased one); another person who signed in on the same
//              device keeps their events.
// A session row of aggregates has only a visitor id (anonymousId, else userId): any entry erases it.
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { adapterFailureOf } from './adapter-failure.js';
import { ConfigError } from './errors.js';

export const SUPPRESSION_LIST_KEY = 'erasure/suppressed-ids.json';

/** Seconds a consumer keeps the list it read before reading it again, unless ERASURE_REFRESH_SECONDS says. */
export const DEFAULT_REFRESH_SECONDS = 60;

export type SuppressionKind = 'user' | 'anonymous' | 'linked';

export interface SuppressionDocument {
  version: 1;
  /** Hashes (idHash) by kind, sorted. */
  user: string[];
  anonymous: string[];
  linked: string[];
  updatedAt: string;
}

/** An id as the list keeps it: SHA-256, hex, 128 bits. Pseudonymous, not anonymous: say so where it is stored. */
export const idHash = (id: string): string => createHash('sha256').update(`clickstream-erasure:${id}`).digest('hex').slice(0, 32);

/** An id as events carry it: the Segment spec allows a number for userId and anonymousId. */
type Id = string | number | null | undefined;

export interface PersonIds {
  userId?: Id;
  anonymousId?: Id;
  /** An alias event's previous id. */
  previousId?: Id;
}

const hashOf = (id: Id): string | undefined => (id === null || id === undefined || id === '' ? undefined : idHash(String(id)));

const text = (value: unknown): string | undefined =>
  (typeof value === 'string' && value.length > 0) || typeof value === 'number' ? String(value) : undefined;

/**
 * The person ids a decoded events-raw record (or a bad row's payload) carries: a Segment-spec event's, or
 * for a tracker event that could not be mapped, its tracker's (Snowplow: uid; duid, else nuid).
 */
export function personIdsOf(value: unknown): PersonIds {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const unmapped = adapterFailureOf(value);
  if (unmapped) {
    const p = unmapped.parameters ?? {};
    return { userId: text(p['uid']), anonymousId: text(p['duid']) ?? text(p['nuid']) ?? text(p['tnuid']) };
  }
  const event = value as Record<string, unknown>;
  return { userId: text(event['userId']), anonymousId: text(event['anonymousId']), previousId: text(event['previousId']) };
}

export class SuppressionList {
  readonly user: ReadonlySet<string>;
  readonly anonymous: ReadonlySet<string>;
  readonly linked: ReadonlySet<string>;

  constructor(document?: Partial<Pick<SuppressionDocument, SuppressionKind>>) {
    this.user = new Set(document?.user ?? []);
    this.anonymous = new Set(document?.anonymous ?? []);
    this.linked = new Set(document?.linked ?? []);
  }

  static readonly EMPTY = new SuppressionList();

  get size(): number {
    return this.user.size + this.anonymous.size + this.linked.size;
  }

  /** Whether an event (or a lake row) with these ids belongs to an erased person. */
  erases(ids: PersonIds): boolean {
    if (this.size === 0) return false;
    const user = hashOf(ids.userId);
    if (user && this.user.has(user)) return true;
    const previous = hashOf(ids.previousId);
    if (previous && this.user.has(previous)) return true;
    const anonymous = hashOf(ids.anonymousId);
    if (anonymous) {
      if (this.anonymous.has(anonymous)) return true;
      if (this.linked.has(anonymous) && user === undefined) return true;
    }
    return false;
  }

  /** Whether an aggregates row's visitor id (anonymousId, else userId) is on the list. */
  erasesVisitor(visitorId: string | null | undefined): boolean {
    if (!visitorId || this.size === 0) return false;
    const hash = idHash(visitorId);
    return this.user.has(hash) || this.anonymous.has(hash) || this.linked.has(hash);
  }

  /** This list with more entries: a new list, sorted, so the same erasure twice writes the same object. */
  with(additions: Partial<Record<SuppressionKind, readonly string[]>>, updatedAt: string): SuppressionDocument {
    const merged = (kind: SuppressionKind) => [...new Set([...this[kind], ...(additions[kind] ?? []).map(idHash)])].sort();
    return { version: 1, user: merged('user'), anonymous: merged('anonymous'), linked: merged('linked'), updatedAt };
  }
}

function parseDocument(text: string): SuppressionList {
  const value = JSON.parse(text) as Partial<SuppressionDocument>;
  const hashes = (list: unknown) => (Array.isArray(list) ? list.filter((h): h is string => typeof h === 'string') : []);
  return new SuppressionList({ user: hashes(value.user), anonymous: hashes(value.anonymous), linked: hashes(value.linked) });
}

/** Reads the list; no object yet means nobody was erased. Other errors propagate. */
export async function readSuppressionList(s3: Pick<S3Client, 'send'>, bucket: string, options: { abortSignal?: AbortSignal } = {}): Promise<SuppressionList> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: SUPPRESSION_LIST_KEY }), options);
    return parseDocument((await object.Body?.transformToString('utf8')) ?? '{}');
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return SuppressionList.EMPTY;
    throw error;
  }
}

export async function writeSuppressionList(s3: Pick<S3Client, 'send'>, bucket: string, document: SuppressionDocument): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: SUPPRESSION_LIST_KEY, Body: `${JSON.stringify(document)}\n`, ContentType: 'application/json' }));
}

export interface SuppressionCacheOptions {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  refreshSeconds?: number;
  now?: () => number;
  /** Told when a refresh fails and the list read before is kept. */
  onStale?: (error: unknown) => void;
}

/**
 * The list as a consumer sees it: read at most every `refreshSeconds`. The first read must succeed (a
 * consumer that cannot know who was erased retries its batch rather than store their events); later
 * failures keep the list read before, which is at most one refresh old plus the outage.
 */
export class SuppressionCache {
  private list: SuppressionList | undefined;
  private readAt = 0;
  private pending: Promise<SuppressionList> | undefined;

  constructor(private readonly options: SuppressionCacheOptions) {}

  async current(): Promise<SuppressionList> {
    const now = (this.options.now ?? Date.now)();
    const refreshMs = (this.options.refreshSeconds ?? DEFAULT_REFRESH_SECONDS) * 1_000;
    if (this.list && now - this.readAt < refreshMs) return this.list;
    this.pending ??= readSuppressionList(this.options.s3, this.options.bucket, { abortSignal: AbortSignal.timeout(5_000) })
      .then((list) => {
        this.list = list;
        this.readAt = now;
        return list;
      })
      .catch((error: unknown) => {
        if (!this.list) throw error;
        this.options.onStale?.(error);
        this.readAt = now;
        return this.list;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}

/** ERASURE_REFRESH_SECONDS, or the default; throws ConfigError on a value that is not a positive number. */
export function refreshSecondsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env['ERASURE_REFRESH_SECONDS']?.trim();
  if (!raw) return DEFAULT_REFRESH_SECONDS;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`ERASURE_REFRESH_SECONDS must be a positive number of seconds, got "${raw}"`);
  return value;
}
