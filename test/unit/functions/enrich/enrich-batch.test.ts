// The batch phase on its own, with in-memory collaborators: counters and the EMF summary line.
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { createBatchEnricher } from '../../../../functions/enrich/enrich-batch.js';
import { retryUnfinished } from '../../../../functions/shared/partial-batch.js';
import { RecordRetryError } from '../../../../functions/enrich/errors.js';
import { NO_IP_FIELDS } from '../../../../functions/enrich/ip-facts.js';
import { UserAgentParser } from '../../../../functions/enrich/user-agent.js';
import { SuppressionList } from '../../../../functions/shared/suppression.js';
import { TrackingPlans } from '../../../../functions/enrich/tracking-plan.js';
import { readTrackingPlans } from '../../../../schemas/tracking-plans.js';
import { validateIdentityRow, type IdentityRow } from '../../../../schemas/index.js';
import { kinesisEvent, rawEvent, sequenceNumber } from '../../../helpers/factories.js';

function setup(
  seen: string[] = [],
  suppression: SuppressionList | { current: () => Promise<SuppressionList> } = SuppressionList.EMPTY,
  plans?: TrackingPlans,
  identityLinks?: { write: (records: readonly Uint8Array[]) => Promise<{ failed: number[]; calls: number; lastErrorCode?: string }> },
) {
  const logger = new Logger({ logLevel: 'SILENT' });
  const info = vi.spyOn(logger, 'info');
  const marked: string[] = [];
  const badRowsWritten: unknown[] = [];
  const written: string[] = [];
  const enrichBatch = createBatchEnricher({
    writer: { write: async (records) => (written.push(...records.map((r) => Buffer.from(r.data).toString('utf8'))), { failed: [], calls: records.length > 0 ? 1 : 0 }) },
    ledger: {
      lookup: async (_stream, _shard, entries) => ({ seen: new Set(entries.map((e) => e.id).filter((id) => seen.includes(id))), uncertain: new Map(), unresolved: new Set<string>() }),
      recordIntent: async (shardId) => ({ shardId, sort: '1' }),
      confirm: async (_intent, entries, notWritten) => {
        const ids = entries.map((e) => e.id).filter((id) => !notWritten.has(id));
        marked.push(...ids);
        return { confirmed: ids.length, failed: [] };
      },
    },
    writtenCheck: { find: async () => new Set<string>() },
    badRows: { write: async (_first, rows) => (badRowsWritten.push(...rows), 'bad-rows/key') },
    suppression: suppression instanceof SuppressionList ? { current: async () => suppression } : suppression,
    userAgents: new UserAgentParser(),
    ipFacts: { lookup: () => NO_IP_FIELDS },
    ...(plans ? { plans } : {}),
    ...(identityLinks ? { identityLinks } : {}),
    config: { latenessBoundSeconds: 3_600, maxEventBytes: 65_536 },
    logger,
  });
  return { enrichBatch, info, marked, badRowsWritten, written };
}

describe('enrichBatch counters', () => {
  it('counts duplicates (in the batch and seen before) as such, not as errors, in an EMF log line', async () => {
    const { enrichBatch, info, marked } = setup(['m-3']);
    const events = [rawEvent({ messageId: 'm-1' }), rawEvent({ messageId: 'm-1' }), rawEvent({ messageId: 'm-3' }), rawEvent({ messageId: 'm-4' })];
    const records = kinesisEvent(events).Records;
    const { outcomes, counters } = await enrichBatch(records, { deadline: Date.now() + 10_000 });
    expect(counters).toEqual({
      records: 4,
      enriched: 2,
      duplicatesInBatch: 1,
      duplicatesSeen: 1,
      badRows: 0,
      erased: 0,
      retried: 0,
      markFailures: 0,
      duplicatesRecovered: 0,
      identityLinks: 0,
    });
    expect(records.map((r) => outcomes.get(r.kinesis.sequenceNumber)?.status)).toEqual(['written', 'duplicate', 'duplicate', 'written']);
    expect(marked).toEqual(['m-1', 'm-4']);
    const [message, fields] = info.mock.calls.at(-1)! as [string, Record<string, unknown>];
    expect(message).toBe('batch enriched');
    expect(fields).toMatchObject({ duplicatesInBatch: 1, duplicatesSeen: 1, enriched: 2 });
    const emf = (fields['_aws'] as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!;
    expect(emf.Namespace).toBe('Clickstream');
    expect(emf.Dimensions).toEqual([['service']]);
    expect(emf.Metrics.map((m) => m.Name)).toContain('duplicatesSeen');
  });

  it('gives a messageId to an event without one, stable across redeliveries', async () => {
    const { enrichBatch, marked } = setup();
    const records = kinesisEvent([rawEvent({ messageId: undefined })]).Records;
    await enrichBatch(records, { deadline: Date.now() + 10_000 });
    await enrichBatch(records, { deadline: Date.now() + 10_000 });
    expect(marked).toHaveLength(2);
    expect(marked[0]).toMatch(/^enr-[0-9a-f]{32}$/);
    expect(marked[1]).toBe(marked[0]);
  });
});

describe('enrichBatch and the tracking plans', () => {
  it('passes a flagged event with its violations, and turns a rejected one into a tracking_plan_violation bad row', async () => {
    const { enrichBatch, badRowsWritten, written } = setup([], SuppressionList.EMPTY, new TrackingPlans(readTrackingPlans()));
    const events = [
      rawEvent({ type: 'track', event: 'Order Completed', messageId: 'm-flagged', properties: { order_id: 'o-1', revenue: '49.00', currency: 'USD' } }),
      rawEvent({ type: 'track', event: 'Signed Up', messageId: 'm-rejected', properties: { plan: 'pro' } }),
      rawEvent({ type: 'track', event: 'Order Completed', messageId: 'm-fine', properties: { order_id: 'o-2', revenue: 49, currency: 'USD' } }),
    ];
    const { counters } = await enrichBatch(kinesisEvent(events).Records, { deadline: Date.now() + 10_000 });
    expect(counters).toMatchObject({ enriched: 2, badRows: 1 });
    const enrichment = written.map((data) => (JSON.parse(data) as { messageId: string; enrichment: Record<string, unknown> }));
    expect(enrichment.map((e) => [e.messageId, e.enrichment['tracking_plan'], e.enrichment['plan_violations']])).toEqual([
      ['m-flagged', 'Order Completed 1-0-0', 'properties.revenue: must be number'],
      ['m-fine', 'Order Completed 1-0-0', null],
    ]);
    expect(badRowsWritten).toMatchObject([{ failure_type: 'tracking_plan_violation', message_id: 'm-rejected', reason: 'properties.method: is required' }]);
  });
});

describe('enrichBatch and the suppression list', () => {
  it('drops and counts the events of erased people, valid or not, and stores neither an event nor a bad row of theirs', async () => {
    const list = new SuppressionList(SuppressionList.EMPTY.with({ user: ['u-erased'], anonymous: ['a-erased'], linked: ['a-linked'] }, '2026-12-01T00:00:00Z'));
    const { enrichBatch, marked, badRowsWritten } = setup([], list);
    const events = [
      rawEvent({ messageId: 'm-1', userId: 'u-erased', anonymousId: 'a-1' }),
      rawEvent({ messageId: 'm-2', anonymousId: 'a-erased', userId: 'u-other' }),
      // a linked anonymousId: its anonymous events go, another person's signed-in events on that device stay
      rawEvent({ messageId: 'm-3', anonymousId: 'a-linked', userId: undefined }),
      rawEvent({ messageId: 'm-4', anonymousId: 'a-linked', userId: 'u-other' }),
      // invalid, and theirs: not a bad row either
      rawEvent({ messageId: 'm-5', userId: 'u-erased', type: 'nonsense' }),
      rawEvent({ messageId: 'm-6', userId: 'u-kept', type: 'nonsense' }),
      rawEvent({ messageId: 'm-7', userId: 'u-kept' }),
    ];
    const records = kinesisEvent(events).Records;
    const { outcomes, counters } = await enrichBatch(records, { deadline: Date.now() + 10_000 });
    expect(records.map((r) => outcomes.get(r.kinesis.sequenceNumber)?.status)).toEqual(['erased', 'erased', 'erased', 'written', 'erased', 'bad_row', 'written']);
    expect(counters).toMatchObject({ records: 7, enriched: 2, erased: 4, badRows: 1 });
    expect(marked).toEqual(['m-4', 'm-7']);
    expect(badRowsWritten).toHaveLength(1);
    expect(JSON.stringify(badRowsWritten)).not.toContain('u-erased');
  });

  it('retries the whole batch when the list cannot be read at all: an erased person is never stored for want of it', async () => {
    const { enrichBatch, marked } = setup([], { current: async () => Promise.reject(new Error('S3 is down')) });
    await expect(enrichBatch(kinesisEvent([rawEvent()]).Records, { deadline: Date.now() + 10_000 })).rejects.toThrow('S3 is down');
    expect(marked).toEqual([]);
  });
});

describe('retryUnfinished', () => {
  it('throws a RecordRetryError for retry outcomes and for records without an outcome', async () => {
    const [a, b, c] = kinesisEvent([rawEvent(), rawEvent(), rawEvent()]).Records as [never, never, never];
    const handle = retryUnfinished(new Map([[sequenceNumber(0), { status: 'written' as const }], [sequenceNumber(1), { status: 'retry' as const, reason: 'x' }]]));
    await expect(handle(a)).resolves.toBeUndefined();
    await expect(handle(b)).rejects.toBeInstanceOf(RecordRetryError);
    await expect(handle(c)).rejects.toThrow(/no outcome/);
  });
});

describe('enrichBatch identity links', () => {
  const links = (fail = false) => {
    const rows: IdentityRow[] = [];
    return {
      rows,
      writer: {
        write: async (records: readonly Uint8Array[]) => {
          if (fail) return { failed: records.map((_, i) => i), calls: 1, lastErrorCode: 'ServiceUnavailableException' };
          rows.push(...records.map((r) => JSON.parse(Buffer.from(r).toString('utf8')) as IdentityRow));
          return { failed: [], calls: 1 };
        },
      },
    };
  };
  const batch = [
    rawEvent({ messageId: 'a-1', anonymousId: 'dev-1' }), // anonymous: no link
    rawEvent({ messageId: 'a-2', type: 'identify', event: undefined, anonymousId: 'dev-1', userId: 'u-1', timestamp: '2026-11-22T10:01:00.000Z' }),
    rawEvent({ messageId: 'a-3', anonymousId: 'dev-1', userId: 'u-1', timestamp: '2026-11-22T10:02:00.000Z' }),
    rawEvent({ messageId: 'a-4', anonymousId: 'dev-1', userId: 'u-1', timestamp: '2026-11-22T10:03:00.000Z' }),
    rawEvent({ messageId: 'a-5', type: 'alias', event: undefined, anonymousId: 'dev-1', previousId: 'u-1', userId: 42, timestamp: '2026-11-22T10:04:00.000Z' }),
  ];

  it('sends one row per link of the batch, for new events and ones seen before, folded with first/last seen', async () => {
    const sink = links();
    const { enrichBatch } = setup(['a-4'], SuppressionList.EMPTY, undefined, sink.writer);
    const records = kinesisEvent(batch).Records;
    const { outcomes, counters } = await enrichBatch(records, { deadline: Date.now() + 10_000 });
    expect(records.map((r) => outcomes.get(r.kinesis.sequenceNumber)?.status)).toEqual(['written', 'written', 'written', 'duplicate', 'written']);
    expect(counters.identityLinks).toBe(3);
    expect(sink.rows).toEqual([
      { link: 'alias', anonymous_id: 'dev-1', user_id: '42', previous_id: 'u-1', first_seen: '2026-11-22T10:04:00.000Z', last_seen: '2026-11-22T10:04:00.000Z', events: 1 },
      // a-4 was written before: its link is sent again (a link is idempotent), so a retry after a lost link delivers it.
      { link: 'event', anonymous_id: 'dev-1', user_id: 'u-1', previous_id: null, first_seen: '2026-11-22T10:02:00.000Z', last_seen: '2026-11-22T10:03:00.000Z', events: 2 },
      { link: 'identify', anonymous_id: 'dev-1', user_id: 'u-1', previous_id: null, first_seen: '2026-11-22T10:01:00.000Z', last_seen: '2026-11-22T10:01:00.000Z', events: 1 },
    ]);
    for (const row of sink.rows) expect(validateIdentityRow(row)).toEqual({ ok: true, value: row });
  });

  it('sends a device–user link again only after an hour, alias links every time', async () => {
    const sink = links();
    const { enrichBatch } = setup([], SuppressionList.EMPTY, undefined, sink.writer);
    await enrichBatch(kinesisEvent(batch).Records, { deadline: Date.now() + 10_000 });
    sink.rows.length = 0;
    const again = batch.map((e, i) => ({ ...e, messageId: `b-${i}` }));
    const { counters } = await enrichBatch(kinesisEvent(again).Records, { deadline: Date.now() + 10_000 });
    expect(sink.rows.map((r) => r.link)).toEqual(['alias']);
    expect(counters.identityLinks).toBe(1);
  });

  it('retries the records whose links were not delivered, and only those', async () => {
    const sink = links(true);
    const { enrichBatch } = setup([], SuppressionList.EMPTY, undefined, sink.writer);
    const records = kinesisEvent(batch).Records;
    const { outcomes, counters } = await enrichBatch(records, { deadline: Date.now() + 10_000 });
    expect(records.map((r) => outcomes.get(r.kinesis.sequenceNumber)?.status)).toEqual(['written', 'retry', 'retry', 'retry', 'retry']);
    expect(outcomes.get(records[1]!.kinesis.sequenceNumber)).toMatchObject({ reason: expect.stringContaining('identity links not delivered (ServiceUnavailableException)') });
    expect(counters).toMatchObject({ identityLinks: 0, retried: 4, enriched: 1 });
  });
});
