import { describe, expect, it } from 'vitest';
import { correctedEventTime } from '../../../../functions/ingest/event-time.js';

const t = (iso: string) => Date.parse(iso);
const received = t('2026-11-22T12:00:00.000Z');

describe('correctedEventTime', () => {
  it('applies the client-side interval between event and send to the receive time', () => {
    // Client clock 1 h behind: event at 10:59:30 client time, sent at 10:59:50 client time.
    expect(correctedEventTime(received, t('2026-11-22T10:59:30Z'), t('2026-11-22T10:59:50Z'))).toBe(received - 20_000);
  });

  it('corrects a clock that runs ahead as well', () => {
    expect(correctedEventTime(received, t('2026-11-22T14:00:00Z'), t('2026-11-22T14:00:05Z'))).toBe(received - 5_000);
  });

  it('keeps the client time when no sentAt came with it', () => {
    expect(correctedEventTime(received, t('2026-11-22T11:58:00Z'), undefined)).toBe(t('2026-11-22T11:58:00Z'));
  });

  it('uses the receive time when the client sent no time at all', () => {
    expect(correctedEventTime(received, undefined, t('2026-11-22T11:58:00Z'))).toBe(received);
  });

  it('clamps future times to the receive time', () => {
    expect(correctedEventTime(received, t('2027-01-01T00:00:00Z'), undefined)).toBe(received);
    // sentAt before the event (a broken client): the correction would land in the future.
    expect(correctedEventTime(received, t('2026-11-22T12:00:10Z'), t('2026-11-22T12:00:00Z'))).toBe(received);
  });

  it('keeps historical imports in the past', () => {
    const corrected = correctedEventTime(received, t('2025-01-01T00:00:00Z'), received);
    expect(corrected).toBe(t('2025-01-01T00:00:00Z'));
  });
});
