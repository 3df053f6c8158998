// Erasure of people (README "Erase a person"): by userId and/or anonymousId, from the lake and from what is
// still on its way to it. The same code runs deployed (./handler.ts) and locally (`npm run erase`).
//
//   1. Who: the ids asked for, the anonymousIds the erased userIds were seen with (their events carry
//      both once they identify), and the ids alias events merged with them. Found by reading the
//      `events` table's id columns (ranged reads: each object's footer and those columns only).
//   2. The suppression list (functions/shared/suppression.ts) gets their hashed ids first: from then on,
//      once each consumer has read it again (ERASURE_REFRESH_SECONDS), the enrich stage drops their events
//      still in the streams or arriving later, and the Firehose transform drops their rows already past
//      the enrich stage, so nothing of theirs lands after that.
//   3. Every object of `events`, `identities`, `aggregates` (the session rows name a visitor) and `bad_rows` that holds
//      a row of theirs is written again without those rows, under the same key; the version read is then
//      deleted by its id, and so is every noncurrent version that holds their rows, so nothing of them is
//      left to restore in the versioned bucket. An object left with no rows is deleted.
//   4. After the settle time (the list's refresh, plus the time a row takes through Firehose's buffers),
//      a second pass rewrites what was written since the list was published.
// A report with the counts, and the ids only as hashes, goes to audit/erase/<run id>.json.
//
// Every step can be run again: a rerun of the same request finds nothing more to remove, and finishes
// what a run stopped at its deadline (or a crash) left.
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AsyncBuffer } from 'hyparquet';
import type { BadRow } from '../../schemas/index.js';
import { runIdAt } from '../shared/run-id.js';
import { idHash, personIdsOf, readSuppressionList, SuppressionList, writeSuppressionList } from '../shared/suppression.js';
import { arrayBufferOf, readColumns, readObject, writeObject, type ParquetRow } from './parquet-rows.js';

export const REPORTS_PREFIX = 'audit/erase/';

export interface EraseRequest {
  userIds: string[];
  anonymousIds: string[];
  /** Find and count, change nothing (the suppression list included). */
  dryRun?: boolean;
}

/** One table of the lake as erasure sees it. */
interface ErasableTable {
  name: 'events' | 'identities' | 'aggregates' | 'bad_rows';
  prefix: string;
  format: 'parquet' | 'jsonl';
  /** The Parquet columns that name a person. */
  idColumns: string[];
  /** Whether a row (only idColumns read, for Parquet) is one of theirs. */
  erases(row: ParquetRow, who: Who): boolean;
}

interface Who {
  list: SuppressionList;
  /** The raw ids, to find in payloads that are not JSON. */
  ids: ReadonlySet<string>;
}

const text = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : String(value));

/** A bad row's payload (a raw event, or a tracker's parameters) names a person if its ids are theirs. */
function badRowErases(row: BadRow, who: Who): boolean {
  const payload = row.payload_encoding === 'base64' ? Buffer.from(row.payload, 'base64').toString('utf8') : row.payload;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    // Not JSON: the ids themselves, if they are long enough not to match by chance.
    for (const id of who.ids) if (id.length >= 6 && payload.includes(id)) return true;
    return false;
  }
  return who.list.erases(personIdsOf(value));
}

/** A row with the events' id columns (events, identities) is theirs by the suppression list's rule. */
const personColumnsErased = (row: ParquetRow, who: Who): boolean =>
  who.list.erases({ userId: text(row['user_id']), anonymousId: text(row['anonymous_id']), previousId: text(row['previous_id']) });

export const ERASABLE_TABLES: readonly ErasableTable[] = [
  {
    name: 'events',
    prefix: 'events/',
    format: 'parquet',
    idColumns: ['user_id', 'anonymous_id', 'previous_id'],
    erases: personColumnsErased,
  },
  {
    // A link goes by the rule of the events it was seen on.
    name: 'identities',
    prefix: 'identities/',
    format: 'parquet',
    idColumns: ['user_id', 'anonymous_id', 'previous_id'],
    erases: personColumnsErased,
  },
  {
    name: 'aggregates',
    prefix: 'aggregates/',
    format: 'parquet',
    idColumns: ['visitor_id'],
    erases: (row, who) => who.list.erasesVisitor(text(row['visitor_id'])),
  },
  {
    name: 'bad_rows',
    prefix: 'bad-rows/',
    format: 'jsonl',
    idColumns: [],
    erases: (row, who) => badRowErases(row as unknown as BadRow, who),
  },
];

export interface TableCounts {
  objectsScanned: number;
  objectsRewritten: number;
  objectsDeleted: number;
  /** Noncurrent versions holding their rows, deleted (versioned buckets). */
  versionsRemoved: number;
  rowsRemoved: number;
  /** Rows of other people in the rewritten objects, written again unchanged. */
  rowsKept: number;
}

export interface ErasureReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  /** Ids as the suppression list keeps them (functions/shared/suppression.ts idHash): never the ids. */
  requested: { userIdHashes: string[]; anonymousIdHashes: string[] };
  /** Found on their events: anonymousIds the userIds were seen with, ids aliases merged with them. */
  linked: { anonymousIdHashes: string[]; userIdHashes: string[] };
  versionedBucket: boolean;
  suppressionListPublishedAt: string | null;
  suppressionListSize: number;
  /** When everything still on its way has either been dropped or landed (and been rewritten by pass 2). */
  settledAt: string | null;
  tables: Record<ErasableTable['name'], TableCounts>;
  passes: { pass: 1 | 2; objectsScanned: number; rowsRemoved: number; seconds: number }[];
  /** false when the deadline came first: run the same request again to finish. */
  complete: boolean;
  seconds: number;
  reportKey: string | null;
}

export interface EraseDependencies {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  /** How long after the list is published nothing of theirs can still land (see settleSecondsFor). */
  settleSeconds: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms by which the run must stop (a Lambda's remaining time). */
  deadline?: number;
  /** Objects read and rewritten at once. */
  concurrency?: number;
  progress?: (line: string) => void;
}

/**
 * Seconds after the list is published until nothing of an erased person can land any more: the consumers'
 * refresh of the list, then, for a row the transform let through just before, Firehose's transform buffer
 * (up to 60 s) and its S3 buffer interval, and a margin.
 */
export function settleSecondsFor({
  refreshSeconds,
  processingBufferSeconds = 60,
  bufferIntervalSeconds,
  marginSeconds = 30,
}: {
  refreshSeconds: number;
  processingBufferSeconds?: number;
  bufferIntervalSeconds: number;
  marginSeconds?: number;
}): number {
  return Math.ceil(refreshSeconds + processingBufferSeconds + bufferIntervalSeconds + marginSeconds);
}

/** An erasure request as a person or a script sends it (JSON), checked; throws RangeError with the reason. */
export function parseEraseRequest(input: unknown): EraseRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RangeError('an erasure request is a JSON object: {"userIds": [...], "anonymousIds": [...]}');
  const { userIds, anonymousIds, dryRun, ...rest } = input as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new RangeError(`unknown field(s) ${unknown.join(', ')}: use userIds, anonymousIds, dryRun`);
  const ids = (value: unknown, name: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((id) => (typeof id === 'string' && id.trim().length > 0) || typeof id === 'number')) {
      throw new RangeError(`${name} must be a list of non-empty ids`);
    }
    return [...new Set(value.map(String))];
  };
  const request = { userIds: ids(userIds, 'userIds'), anonymousIds: ids(anonymousIds, 'anonymousIds') };
  if (request.userIds.length + request.anonymousIds.length === 0) throw new RangeError('name at least one person: userIds and/or anonymousIds');
  if (request.userIds.length + request.anonymousIds.length > 10_000) throw new RangeError('at most 10,000 ids per request');
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new RangeError('dryRun must be true or false');
  return { ...request, ...(dryRun ? { dryRun: true } : {}) };
}

interface Entry {
  key: string;
  versionId?: string;
  /** The current version (always, in a bucket without versioning). */
  latest: boolean;
  size: number;
  lastModifiedMs: number;
}

export async function bucketIsVersioned(s3: EraseDependencies['s3'], bucket: string): Promise<boolean> {
  try {
    const answer = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    // Suspended still keeps the versions written while it was enabled.
    return answer.Status === 'Enabled' || answer.Status === 'Suspended';
  } catch (error) {
    // An S3 without versioning (the local emulator) answers NotImplemented.
    if ((error as { name?: string; Code?: string }).name === 'NotImplemented' || (error as { Code?: string }).Code === 'NotImplemented') return false;
    throw error;
  }
}

async function listEntries(s3: EraseDependencies['s3'], bucket: string, prefix: string, versioned: boolean): Promise<Entry[]> {
  const entries: Entry[] = [];
  if (!versioned) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) if (o.Key) entries.push({ key: o.Key, latest: true, size: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return entries;
  }
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionMarker ? { VersionIdMarker: versionMarker } : {}) }),
    );
    for (const v of page.Versions ?? []) {
      if (v.Key) entries.push({ key: v.Key, ...(v.VersionId ? { versionId: v.VersionId } : {}), latest: v.IsLatest ?? false, size: v.Size ?? 0, lastModifiedMs: v.LastModified?.getTime() ?? 0 });
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return entries;
}

const versionOf = (entry: Entry) => (entry.versionId && entry.versionId !== 'null' ? { VersionId: entry.versionId } : {});

async function getBytes(s3: EraseDependencies['s3'], bucket: string, entry: Entry): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: entry.key, ...versionOf(entry) }));
  return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
}

/**
 * An object version as hyparquet reads it: ranged GETs of the parts it needs, several at once. A failed read
 * is tried again (the SDK's own retries cover one request; a busy S3 can refuse a burst of them), and is
 * marked handled as soon as it is made: hyparquet may not await a read whose neighbour failed first.
 */
function s3File(s3: EraseDependencies['s3'], bucket: string, entry: Entry): AsyncBuffer {
  const read = async (start: number, last: number): Promise<ArrayBuffer> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: entry.key, ...versionOf(entry), Range: `bytes=${start}-${last}` }));
        return arrayBufferOf((await object.Body?.transformToByteArray()) ?? new Uint8Array());
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (attempt >= 4 || (status !== undefined && status < 500)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  };
  return {
    byteLength: entry.size,
    slice(start: number, end?: number) {
      const last = Math.min(end ?? entry.size, entry.size) - 1;
      if (last < start) return new ArrayBuffer(0);
      const pending = read(start, last);
      pending.catch(() => undefined);
      return pending;
    },
  };
}

const parseLines = (bytes: Uint8Array): ParquetRow[] =>
  Buffer.from(bytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as ParquetRow);

/** Runs `work` over `items`, `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * The erased userIds' anonymousIds (their events carry both once they identify), and the ids alias events
 * merged with them, to a fixed point. One read of the events' id columns; another only when an alias
 * brought in a userId whose anonymousIds were not collected the first time.
 */
async function linkedIds(deps: EraseDependencies, request: EraseRequest, versioned: boolean): Promise<{ users: Set<string>; anonymous: Set<string> }> {
  const users = new Set(request.userIds);
  const anonymous = new Set<string>();
  if (users.size === 0) return { users, anonymous };
  const entries = (await listEntries(deps.s3, deps.bucket, 'events/', versioned)).filter((e) => e.latest && e.size > 0);
  const aliases: [string, string][] = [];
  let collectedFor = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const targets = new Set([...users].filter((u) => !collectedFor.has(u)));
    if (targets.size === 0) break;
    await inParallel(entries, deps.concurrency ?? 8, async (entry) => {
      for (const row of await readColumns(s3File(deps.s3, deps.bucket, entry), ['user_id', 'anonymous_id', 'previous_id'])) {
        const user = text(row['user_id']);
        if (user === undefined) continue;
        const previous = text(row['previous_id']);
        if (previous !== undefined && round === 0) aliases.push([previous, user]);
        const anonymousId = text(row['anonymous_id']);
        if (targets.has(user) && anonymousId !== undefined) anonymous.add(anonymousId);
      }
    });
    collectedFor = new Set([...collectedFor, ...targets]);
    // alias: previousId and userId are one person; chains close over rounds of this loop.
    for (let grew = true; grew; ) {
      grew = false;
      for (const [previous, user] of aliases) {
        if (users.has(previous) !== users.has(user)) {
          users.add(previous);
          users.add(user);
          grew = true;
        }
      }
    }
  }
  for (const id of request.anonymousIds) anonymous.delete(id);
  return { users, anonymous };
}

const emptyCounts = (): TableCounts => ({ objectsScanned: 0, objectsRewritten: 0, objectsDeleted: 0, versionsRemoved: 0, rowsRemoved: 0, rowsKept: 0 });

export async function erasePeople(request: EraseRequest, deps: EraseDependencies): Promise<ErasureReport> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const progress = deps.progress ?? (() => undefined);
  const started = now();
  const startedAt = new Date(started).toISOString();
  const runId = runIdAt(started);
  const dryRun = request.dryRun ?? false;
  const deadline = deps.deadline ?? Number.POSITIVE_INFINITY;
  const versioned = await bucketIsVersioned(deps.s3, deps.bucket);

  // 1. Who.
  const linked = await linkedIds(deps, request, versioned);
  const linkedUsers = [...linked.users].filter((id) => !request.userIds.includes(id));
  progress(`found ${linked.anonymous.size} anonymousId(s) and ${linkedUsers.length} aliased id(s) linked to the userIds`);
  // An aliased id may have been an anonymousId (alias from the anonymous id): its anonymous events go too.
  const additions = { user: [...linked.users], anonymous: request.anonymousIds, linked: [...linked.anonymous, ...linkedUsers] };
  const who: Who = {
    list: new SuppressionList(SuppressionList.EMPTY.with(additions, startedAt)),
    ids: new Set([...linked.users, ...request.anonymousIds, ...linked.anonymous]),
  };

  // 2. The suppression list, before the lake: whatever lands from now on is either dropped or rewritten by pass 2.
  let publishedAtMs: number | null = null;
  let suppressionListSize = 0;
  if (!dryRun) {
    const current = await readSuppressionList(deps.s3, deps.bucket);
    const document = current.with(additions, new Date(now()).toISOString());
    await writeSuppressionList(deps.s3, deps.bucket, document);
    publishedAtMs = now();
    suppressionListSize = document.user.length + document.anonymous.length + document.linked.length;
    progress(`suppression list published (${suppressionListSize} entries)`);
  }

  // 3. and 4. The lake.
  const tables = Object.fromEntries(ERASABLE_TABLES.map((t) => [t.name, emptyCounts()])) as ErasureReport['tables'];
  const passes: ErasureReport['passes'] = [];
  let complete = true;

  const processEntry = async (table: ErasableTable, entry: Entry, counts: TableCounts): Promise<number> => {
    counts.objectsScanned++;
    if (entry.size === 0) return 0;
    let matches: number;
    if (table.format === 'parquet') {
      matches = (await readColumns(s3File(deps.s3, deps.bucket, entry), table.idColumns)).filter((row) => table.erases(row, who)).length;
    } else {
      matches = parseLines(await getBytes(deps.s3, deps.bucket, entry)).filter((row) => table.erases(row, who)).length;
    }
    if (matches === 0) return 0;
    counts.rowsRemoved += matches;
    if (dryRun) return matches;
    const deleteThisVersion = async () => {
      await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: entry.key, ...versionOf(entry) }));
    };
    if (!entry.latest) {
      // A noncurrent version: nothing reads it but a restore, which must find nothing of them.
      await deleteThisVersion();
      counts.versionsRemoved++;
      return matches;
    }
    const bytes = await getBytes(deps.s3, deps.bucket, entry);
    let body: Uint8Array | null;
    let kept: number;
    if (table.format === 'parquet') {
      const object = await readObject(bytes);
      const rows = object.rows.filter((row) => !table.erases(row, who));
      kept = rows.length;
      body = rows.length > 0 ? writeObject(object.metadata, rows) : null;
    } else {
      const rows = parseLines(bytes).filter((row) => !table.erases(row, who));
      kept = rows.length;
      body = rows.length > 0 ? Buffer.from(rows.map((row) => JSON.stringify(row)).join('\n') + '\n') : null;
    }
    counts.rowsKept += kept;
    if (body) {
      await deps.s3.send(
        new PutObjectCommand({ Bucket: deps.bucket, Key: entry.key, Body: body, ContentType: table.format === 'parquet' ? 'application/vnd.apache.parquet' : 'application/x-ndjson' }),
      );
      counts.objectsRewritten++;
      // The version that held their rows; the new one is current. (Without versioning the put replaced it.)
      if (versioned) await deleteThisVersion();
    } else {
      // Nothing left: a delete marker first, so that removing this version does not make an older one current.
      if (versioned) await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: entry.key }));
      await deleteThisVersion();
      counts.objectsDeleted++;
    }
    return matches;
  };

  const runPass = async (pass: 1 | 2, since: number | null) => {
    const passStarted = now();
    let scanned = 0;
    let removed = 0;
    for (const table of ERASABLE_TABLES) {
      const entries = (await listEntries(deps.s3, deps.bucket, table.prefix, versioned)).filter((e) => since === null || e.lastModifiedMs >= since);
      await inParallel(entries, deps.concurrency ?? 8, async (entry) => {
        if (now() > deadline) {
          complete = false;
          return;
        }
        scanned++;
        removed += await processEntry(table, entry, tables[table.name]);
      });
      progress(`pass ${pass}: ${table.name}: ${entries.length} object(s) looked at, ${tables[table.name].rowsRemoved} row(s) of theirs so far`);
    }
    passes.push({ pass, objectsScanned: scanned, rowsRemoved: removed, seconds: (now() - passStarted) / 1000 });
  };

  await runPass(1, null);
  let settledAtMs: number | null = null;
  if (publishedAtMs !== null && complete) {
    settledAtMs = publishedAtMs + deps.settleSeconds * 1000;
    const wait = settledAtMs - now();
    if (wait > 0) {
      if (now() + wait > deadline) complete = false;
      else {
        progress(`waiting ${Math.ceil(wait / 1000)} s for what was on its way to land or be dropped`);
        await sleep(wait);
      }
    }
    // Objects written since the list was published (a few seconds' margin for clocks): what was already in Firehose's buffers.
    if (complete) await runPass(2, publishedAtMs - 5_000);
  }

  const finished = now();
  const report: ErasureReport = {
    runId,
    startedAt,
    finishedAt: new Date(finished).toISOString(),
    dryRun,
    requested: { userIdHashes: request.userIds.map(idHash), anonymousIdHashes: request.anonymousIds.map(idHash) },
    linked: { anonymousIdHashes: [...linked.anonymous].map(idHash), userIdHashes: linkedUsers.map(idHash) },
    versionedBucket: versioned,
    suppressionListPublishedAt: publishedAtMs === null ? null : new Date(publishedAtMs).toISOString(),
    suppressionListSize,
    settledAt: settledAtMs === null ? null : new Date(settledAtMs).toISOString(),
    tables,
    passes,
    complete,
    seconds: (finished - started) / 1000,
    reportKey: null,
  };
  if (!dryRun) {
    report.reportKey = `${REPORTS_PREFIX}${runId}.json`;
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: report.reportKey, Body: `${JSON.stringify(report, null, 2)}\n`, ContentType: 'application/json' }));
  }
  return report;
}

