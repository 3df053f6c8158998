// Recovery of bad rows on a mocked S3 and stream: which rows are chosen, what a fix does, what is validated
// again, what is sent back (with which messageId), what is recorded, and that a second run changes nothing.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyFix, FixError, parseFix } from '../../../../functions/recover/fix.js';
import { parseRecoverRequest, recoverBadRows, recoverRow } from '../../../../functions/recover/recover.js';
import { adapterFailureRecord } from '../../../../functions/shared/adapter-failure.js';
import type { StreamRecord } from '../../../../functions/shared/kinesis-batch-writer.js';
import type { BadRow, RecoveredBadRow } from '../../../../schemas/index.js';
import { rawEvent } from '../../../helpers/factories.js';

let sequence = 0;
function badRow(payload: unknown, overrides: Partial<BadRow> = {}): BadRow {
  return {
    failure_type: 'schema_violation',
    reason: '/event must be string',
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    payload_encoding: 'utf-8',
    message_id: (payload as { messageId?: string } | null)?.messageId ?? null,
    stream: 'events-raw',
    shard_id: 'shardId-000000000000',
    sequence_number: `4965000000000000000000000000000000000000000000000${String(++sequence).padStart(6, '0')}`,
    approximate_arrival: '2026-11-22T10:00:05.000Z',
    failed_at: '2026-11-22T10:00:06.000Z',
    ...overrides,
  };
}

describe('fix steps (JSON Patch operations)', () => {
  it('applies add, replace, remove, move, copy, and keeps the original when a test fails', () => {
    const steps = parseFix([
      { op: 'test', path: '/type', value: 'track' },
      { op: 'move', from: '/user_id', path: '/userId' },
      { op: 'replace', path: '/properties/price', value: 12.5 },
      { op: 'add', path: '/properties/tags/-', value: 'fixed' },
      { op: 'copy', from: '/userId', path: '/context/traits~1id' },
      { op: 'remove', path: '/junk' },
    ]);
    const original = { type: 'track', user_id: 'u-1', properties: { price: '12.50', tags: ['a'] }, context: {}, junk: 1 };
    expect(applyFix(original, steps)).toEqual({
      applied: true,
      document: { type: 'track', userId: 'u-1', properties: { price: 12.5, tags: ['a', 'fixed'] }, context: { 'traits/id': 'u-1' } },
    });
    expect(original.user_id).toBe('u-1'); // on a copy
    expect(applyFix({ ...original, type: 'page' }, steps)).toEqual({ applied: false, document: { ...original, type: 'page' } });
    // A step on a path that is not there: the row stays whole.
    expect(applyFix({ type: 'track' }, parseFix([{ op: 'remove', path: '/nope' }])).applied).toBe(false);
  });

  it('refuses a fix that is not a list of steps, naming the step', () => {
    expect(() => parseFix({ op: 'add' })).toThrow(FixError);
    expect(() => parseFix([{ op: 'add', path: '/a', value: 1 }, { op: 'rename', path: '/a' }])).toThrow('fix step 1: op must be one of');
    expect(() => parseFix([{ op: 'replace', path: 'userId', value: 1 }])).toThrow('is not a JSON Pointer');
    expect(() => parseFix([{ op: 'move', path: '/a' }])).toThrow('move needs from');
    expect(() => parseFix([{ op: 'add', path: '/a' }])).toThrow('add needs a value');
  });
});

describe('one bad row, recovered', () => {
  it('a schema violation fixed by the declared steps becomes the event, with its messageId', () => {
    const row = badRow(rawEvent({ messageId: 'm-1', event: 42 }));
    expect(recoverRow(row)).toEqual({ ok: false, reason: expect.stringContaining('event') });
    const outcome = recoverRow(row, parseFix([{ op: 'replace', path: '/event', value: 'Order Completed' }]));
    expect(outcome).toMatchObject({ ok: true, fixed: true, event: { messageId: 'm-1', event: 'Order Completed', type: 'track' } });
  });

  it('a row without any id gets one derived from its place in the stream, the same on every run', () => {
    const event = rawEvent({ event: 7 }) as Record<string, unknown>;
    delete event['messageId'];
    const row = badRow(event, { message_id: null });
    const fix = parseFix([{ op: 'replace', path: '/event', value: 'Seven' }]);
    const first = recoverRow(row, fix);
    const second = recoverRow(row, fix);
    expect(first.ok && first.event.messageId).toMatch(/^recovered-[0-9a-f]{32}$/);
    expect(second).toEqual(first);
  });

  it('an adapter failure is mapped again after its parameters are fixed, with the request facts ingest had', () => {
    const parameters = { e: 'se', eid: 'e-1', aid: 'shop-web', duid: 'd-1', se_ca: 'shop', se_ac: 'add', se_va: 'two', dtm: '1796119199000', stm: '1796119200000' };
    const record = adapterFailureRecord({ protocol: 'snowplow', reason: 'se_va must be a number', receivedAt: '2026-12-01T10:00:00.000Z', parameters, sourceIp: '203.0.113.7', userAgent: 'Mozilla/5.0' });
    const row = badRow(record, { failure_type: 'adapter_failure', message_id: 'e-1' });
    expect(recoverRow(row)).toEqual({ ok: false, reason: 'snowplow: se_va must be a number, got "two"' });
    const outcome = recoverRow(row, parseFix([{ op: 'replace', path: '/se_va', value: '2' }]));
    expect(outcome).toMatchObject({
      ok: true,
      event: { type: 'track', event: 'add', messageId: 'e-1', anonymousId: 'd-1', properties: { value: 2 }, receivedAt: '2026-12-01T10:00:00.000Z', timestamp: '2026-12-01T09:59:59.000Z', context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' } },
    });
  });

  it('what is still wrong is named', () => {
    expect(recoverRow(badRow('{"type":'))).toEqual({ ok: false, reason: 'the payload is not JSON' });
    expect(recoverRow(badRow('[1]'))).toEqual({ ok: false, reason: 'the payload is not a JSON object' });
    expect(recoverRow(badRow(rawEvent({ messageId: 'm', properties: { big: 'x'.repeat(70_000) } })))).toEqual({ ok: false, reason: expect.stringMatching(/bytes; the limit is 65536$/) });
  });
});

describe('a recovery run', () => {
  const s3 = mockClient(S3Client);
  let objects: Map<string, string>;
  let sent: StreamRecord[];
  const writer = {
    write: async (records: readonly StreamRecord[]) => {
      sent.push(...records);
      return { failed: [], attempts: 1 } as never;
    },
  };
  // The part of the SDK's stream body the code reads.
  const body = (text: string) => ({ transformToString: async () => text }) as never;
  const lines = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

  beforeEach(() => {
    s3.reset();
    objects = new Map();
    sent = [];
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({ Contents: [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).sort().map((Key) => ({ Key })) }));
    s3.on(GetObjectCommand).callsFake((input: { Key: string }) => ({ Body: body(objects.get(input.Key)!) }));
    s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
      objects.set(input.Key, input.Body);
      return {};
    });
  });

  it('chooses by day, failure type and reason; sends what passes; records it; a second run changes nothing', async () => {
    const fixable = badRow(rawEvent({ messageId: 'm-fix', event: 42 }), { reason: '/event must be string' });
    const hopeless = badRow('{"type":', { failure_type: 'invalid_json', reason: 'not JSON' });
    const otherType = badRow(rawEvent({ messageId: 'm-size' }), { failure_type: 'size_violation', reason: 'too big' });
    const otherDay = badRow(rawEvent({ messageId: 'm-later', event: 42 }));
    objects.set('bad-rows/dt=2026-11-22/shardId-000000000000-1.jsonl', lines([fixable, hopeless, otherType]));
    objects.set('bad-rows/dt=2026-11-25/shardId-000000000000-9.jsonl', lines([otherDay]));
    const fix = parseFix([{ op: 'test', path: '/event', value: 42 }, { op: 'replace', path: '/event', value: 'Forty-two' }]);
    const request = { from: '2026-11-21', to: '2026-11-23', failureTypes: ['schema_violation', 'invalid_json'], fix };
    const deps = { s3: new S3Client({ region: 'us-east-1' }), bucket: 'lake', writer, now: () => Date.parse('2026-12-01T12:00:00.000Z') };

    const report = await recoverBadRows(request, deps);
    expect(report).toMatchObject({ read: 3, selected: 2, alreadyRecovered: 0, recovered: 1, fixed: 1, stillFailing: 1, failures: [{ reason: 'the payload is not JSON', rows: 1 }] });
    expect(sent.map((r) => JSON.parse(r.data.toString()) as { messageId: string; event: string })).toEqual([expect.objectContaining({ messageId: 'm-fix', event: 'Forty-two' })]);
    const recorded = objects.get(report.recordKey!)!.trim().split('\n').map((l) => JSON.parse(l) as RecoveredBadRow);
    expect(report.recordKey).toMatch(/^bad-rows-recovered\/dt=2026-12-01\/.+\.jsonl$/);
    expect(recorded).toEqual([expect.objectContaining({ sequence_number: fixable.sequence_number, message_id: 'm-fix', fixed: true, failure_type: 'schema_violation' })]);
    expect(JSON.parse(objects.get(report.reportKey!)!)).toMatchObject({ runId: report.runId, recovered: 1 });

    const again = await recoverBadRows(request, deps);
    expect(again).toMatchObject({ selected: 2, alreadyRecovered: 1, recovered: 0, stillFailing: 1, recordKey: null });
    expect(sent).toHaveLength(1);
  });

  it('a dry run sends and writes nothing', async () => {
    objects.set('bad-rows/dt=2026-11-22/a.jsonl', lines([badRow(rawEvent({ messageId: 'm-ok' }))]));
    const report = await recoverBadRows({ from: '2026-11-22', to: '2026-11-22', dryRun: true }, { s3: new S3Client({ region: 'us-east-1' }), bucket: 'lake', writer });
    expect(report).toMatchObject({ recovered: 1, recordKey: null, reportKey: null });
    expect(sent).toEqual([]);
    expect([...objects.keys()]).toEqual(['bad-rows/dt=2026-11-22/a.jsonl']);
  });

  it('checks a request before anything is read', () => {
    expect(parseRecoverRequest({ from: '2026-11-22', to: '2026-11-22', fix: [{ op: 'remove', path: '/a' }], dryRun: true })).toEqual({ from: '2026-11-22', to: '2026-11-22', fix: [{ op: 'remove', path: '/a' }], dryRun: true });
    expect(() => parseRecoverRequest({ from: '2026-11-22' })).toThrow('from and to');
    expect(() => parseRecoverRequest({ from: '2026-11-22', to: '2026-11-22', failureType: 'x' })).toThrow('unknown field(s) failureType');
    expect(() => parseRecoverRequest({ from: '2026-11-22', to: '2026-11-22', fix: [{ op: 'x' }] })).toThrow(FixError);
  });

  it('refuses a range that is not one', async () => {
    const deps = { s3: new S3Client({ region: 'us-east-1' }), bucket: 'lake', writer };
    await expect(recoverBadRows({ from: '2026-11-23', to: '2026-11-22' }, deps)).rejects.toThrow('is after');
    await expect(recoverBadRows({ from: 'yesterday', to: '2026-11-22' }, deps)).rejects.toThrow('YYYY-MM-DD');
  });
});
