// Erasure against a versioned bucket (S3 as deployed; the local emulator has no versioning): an in-memory
// S3 that keeps versions, delete markers and LastModified, driven through the SDK's command objects.
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { erasePeople, parseEraseRequest } from '../../../../functions/erase/erase.js';
import { arrayBufferOf } from '../../../../functions/erase/parquet-rows.js';
import { idHash, SUPPRESSION_LIST_KEY } from '../../../../functions/shared/suppression.js';

interface Version {
  versionId: string;
  body: Uint8Array | null; // null: a delete marker
  lastModified: Date;
}

class VersionedS3 {
  readonly objects = new Map<string, Version[]>(); // newest last
  private next = 1;
  clock = Date.parse('2026-12-01T10:00:00Z');

  constructor(private readonly versioned = true) {}

  put(key: string, body: Uint8Array | string): string {
    const versionId = this.versioned ? `v${this.next++}` : 'null';
    const versions = this.versioned ? (this.objects.get(key) ?? []) : [];
    versions.push({ versionId, body: typeof body === 'string' ? Buffer.from(body) : body, lastModified: new Date(this.clock++) });
    this.objects.set(key, versions);
    return versionId;
  }

  current(key: string): Uint8Array | undefined {
    const latest = this.objects.get(key)?.at(-1);
    return latest?.body ?? undefined;
  }

  async send(command: unknown): Promise<unknown> {
    const input = (command as { input: Record<string, string | undefined> }).input;
    if (command instanceof GetBucketVersioningCommand) {
      if (!this.versioned) throw Object.assign(new Error('not implemented'), { name: 'NotImplemented' });
      return { Status: 'Enabled' };
    }
    if (command instanceof ListObjectVersionsCommand) {
      const Versions = [...this.objects.entries()]
        .filter(([key]) => key.startsWith(input['Prefix'] ?? ''))
        .flatMap(([Key, versions]) =>
          versions.flatMap((v, i) => (v.body === null ? [] : [{ Key, VersionId: v.versionId, IsLatest: i === versions.length - 1, Size: v.body.byteLength, LastModified: v.lastModified }])),
        );
      return { Versions, IsTruncated: false };
    }
    if (command instanceof ListObjectsV2Command) {
      const Contents = [...this.objects.entries()]
        .filter(([key, versions]) => key.startsWith(input['Prefix'] ?? '') && versions.at(-1)?.body)
        .map(([Key, versions]) => ({ Key, Size: versions.at(-1)!.body!.byteLength, LastModified: versions.at(-1)!.lastModified }));
      return { Contents, IsTruncated: false };
    }
    if (command instanceof GetObjectCommand) {
      const versions = this.objects.get(input['Key']!) ?? [];
      const version = input['VersionId'] ? versions.find((v) => v.versionId === input['VersionId']) : versions.at(-1);
      if (!version?.body) throw new NoSuchKey({ message: 'no such key', $metadata: {} });
      let bytes = version.body;
      const range = /^bytes=(\d+)-(\d+)$/.exec(input['Range'] ?? '');
      if (range) bytes = bytes.subarray(Number(range[1]), Number(range[2]) + 1);
      return { Body: { transformToByteArray: async () => bytes, transformToString: async () => Buffer.from(bytes).toString('utf8') } };
    }
    if (command instanceof PutObjectCommand) {
      const body = (command as PutObjectCommand).input.Body as Uint8Array | string;
      return { VersionId: this.put(input['Key']!, body) };
    }
    if (command instanceof DeleteObjectCommand) {
      const key = input['Key']!;
      const versions = this.objects.get(key) ?? [];
      if (input['VersionId']) this.objects.set(key, versions.filter((v) => v.versionId !== input['VersionId']));
      else if (this.versioned) versions.push({ versionId: `v${this.next++}`, body: null, lastModified: new Date(this.clock++) });
      else this.objects.delete(key);
      return {};
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }
}

type Row = { message_id: string; user_id: string | null; anonymous_id: string | null; previous_id: string | null; event_time: bigint };
const parquet = (rows: Row[]): Uint8Array =>
  new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'message_id', data: rows.map((r) => r.message_id), type: 'STRING' },
        { name: 'user_id', data: rows.map((r) => r.user_id), type: 'STRING' },
        { name: 'anonymous_id', data: rows.map((r) => r.anonymous_id), type: 'STRING' },
        { name: 'previous_id', data: rows.map((r) => r.previous_id), type: 'STRING' },
        { name: 'event_time', data: rows.map((r) => r.event_time), type: 'INT64' },
      ],
    }),
  );
const row = (message_id: string, user_id: string | null, anonymous_id: string | null, previous_id: string | null = null): Row => ({
  message_id,
  user_id,
  anonymous_id,
  previous_id,
  event_time: 1_796_032_800_123_456n,
});
const readRows = async (bytes: Uint8Array | undefined) => (bytes ? ((await parquetReadObjects({ file: arrayBufferOf(bytes) })) as Row[]) : []);

describe('erasePeople on a versioned bucket', () => {
  it('rewrites current versions, deletes the versions that held their rows, and keeps everything else as it was', async () => {
    const s3 = new VersionedS3();
    const mixed = 'events/dt=2026-11-30/hour=10/a.parquet';
    const onlyTheirs = 'events/dt=2026-11-30/hour=11/b.parquet';
    const clean = 'events/dt=2026-11-30/hour=12/c.parquet';
    // An older version of `mixed` (a restore would bring their rows back), then the current one.
    s3.put(mixed, parquet([row('m-0', 'user-0001', 'anon-0001')]));
    const cleanOld = s3.put(clean, parquet([row('m-9', null, 'a-other')]));
    s3.put(mixed, parquet([row('m-1', 'user-0001', 'anon-0001'), row('m-2', null, 'anon-0001'), row('m-3', 'u-other', 'a-other'), row('m-4', null, 'a-shared'), row('m-5', 'u-other', 'a-shared')]));
    s3.put(onlyTheirs, parquet([row('m-6', null, 'anon-0001'), row('m-7', 'u-2', 'a-2', 'user-0001')]));
    s3.put(clean, parquet([row('m-8', 'u-other', 'a-other')]));
    // A shared device: the person identified on it, so its anonymous rows go; another person's signed-in rows stay.
    s3.put('events/dt=2026-11-29/hour=00/d.parquet', parquet([row('m-10', 'user-0001', 'a-shared')]));
    s3.put('bad-rows/dt=2026-11-30/shard-1.jsonl', [
      JSON.stringify({ failure_type: 'schema_violation', payload: JSON.stringify({ userId: 'user-0001', event: 4 }), payload_encoding: 'utf-8', message_id: 'b-1' }),
      JSON.stringify({ failure_type: 'invalid_json', payload: '{"anonymousId":"anon-0001", broken', payload_encoding: 'utf-8', message_id: null }),
      JSON.stringify({ failure_type: 'schema_violation', payload: JSON.stringify({ userId: 'u-other' }), payload_encoding: 'utf-8', message_id: 'b-2' }),
    ].join('\n') + '\n');

    const slept: number[] = [];
    const report = await erasePeople(parseEraseRequest({ userIds: ['user-0001'] }), {
      s3: s3 as never,
      bucket: 'lake',
      settleSeconds: 30,
      now: () => s3.clock,
      sleep: async (ms) => {
        slept.push(ms);
        s3.clock += ms;
      },
    });

    expect(report.versionedBucket).toBe(true);
    // u-2 is linked by the alias (previousId u-1 → userId u-2), and its anonymousId with it.
    expect(report.linked.userIdHashes).toEqual([idHash('u-2')]);
    expect(report.linked.anonymousIdHashes.sort()).toEqual(['anon-0001', 'a-2', 'a-shared'].map(idHash).sort());
    // mixed: m-1, m-2, m-4 (of 5) and its old version's m-0; b: both; d: its one row.
    expect(report.tables.events).toMatchObject({ objectsRewritten: 1, objectsDeleted: 2, versionsRemoved: 1, rowsRemoved: 7, rowsKept: 2 });
    expect(report.tables.bad_rows).toMatchObject({ objectsRewritten: 1, rowsRemoved: 2, rowsKept: 1 });
    expect(slept).toHaveLength(1);
    expect(report.passes.map((p) => p.pass)).toEqual([1, 2]);

    // The current object holds the others' rows, exactly; no version of it holds theirs.
    expect((await readRows(s3.current(mixed))).map((r) => r.message_id)).toEqual(['m-3', 'm-5']);
    expect(await readRows(s3.current(mixed))).toEqual([row('m-3', 'u-other', 'a-other'), row('m-5', 'u-other', 'a-shared')]);
    for (const version of s3.objects.get(mixed)!) expect((await readRows(version.body ?? undefined)).some((r) => r.user_id === 'user-0001' || r.anonymous_id === 'anon-0001')).toBe(false);
    // Nothing of theirs left anywhere, in any version, and no object whose every row was theirs.
    expect(s3.current(onlyTheirs)).toBeUndefined();
    expect(s3.objects.get(onlyTheirs)!.every((v) => v.body === null)).toBe(true);
    // Untouched: same versions as before.
    expect(s3.objects.get(clean)!.map((v) => v.versionId)).toContain(cleanOld);
    expect(s3.objects.get(clean)).toHaveLength(2);
    const bad = Buffer.from(s3.current('bad-rows/dt=2026-11-30/shard-1.jsonl')!).toString('utf8');
    expect(bad).toContain('u-other');
    expect(bad).not.toContain('anon-0001');

    // The list names them by hash only, and the report too.
    const list = Buffer.from(s3.current(SUPPRESSION_LIST_KEY)!).toString('utf8');
    expect(list).toContain(idHash('user-0001'));
    for (const text of [list, Buffer.from(s3.current(report.reportKey!)!).toString('utf8')]) {
      expect(text).not.toMatch(/user-0001|anon-0001|a-shared/);
    }

    // A rerun finds nothing to remove.
    const again = await erasePeople(parseEraseRequest({ userIds: ['user-0001'] }), { s3: s3 as never, bucket: 'lake', settleSeconds: 0, now: () => s3.clock });
    expect(Object.values(again.tables).reduce((sum, t) => sum + t.rowsRemoved, 0)).toBe(0);
  });

  it('counts without changing anything on a dry run, and stops at its deadline saying so', async () => {
    const s3 = new VersionedS3(false);
    s3.put('events/dt=2026-11-30/hour=10/a.parquet', parquet([row('m-1', null, 'a-9'), row('m-2', null, 'a-8')]));
    const before = s3.current('events/dt=2026-11-30/hour=10/a.parquet');
    const dry = await erasePeople(parseEraseRequest({ anonymousIds: ['a-9'], dryRun: true }), { s3: s3 as never, bucket: 'lake', settleSeconds: 10 });
    expect(dry.tables.events.rowsRemoved).toBe(1);
    expect(dry.reportKey).toBeNull();
    expect(s3.current('events/dt=2026-11-30/hour=10/a.parquet')).toBe(before);
    expect(s3.current(SUPPRESSION_LIST_KEY)).toBeUndefined();

    const late = await erasePeople(parseEraseRequest({ anonymousIds: ['a-9'] }), { s3: s3 as never, bucket: 'lake', settleSeconds: 10, deadline: Date.now() - 1 });
    expect(late.complete).toBe(false);
    expect(late.tables.events.rowsRemoved).toBe(0);
  });
});

describe('parseEraseRequest', () => {
  it('takes userIds and anonymousIds, and refuses what is not a request with the reason', () => {
    expect(parseEraseRequest({ userIds: ['u', 'u', 7], anonymousIds: ['a'] })).toEqual({ userIds: ['u', '7'], anonymousIds: ['a'] });
    expect(() => parseEraseRequest({})).toThrow(/at least one person/);
    expect(() => parseEraseRequest({ userIds: [''] })).toThrow(/non-empty ids/);
    expect(() => parseEraseRequest({ userIds: ['u'], email: 'x' })).toThrow(/unknown field\(s\) email/);
    expect(() => parseEraseRequest([])).toThrow(/JSON object/);
  });
});
