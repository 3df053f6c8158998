import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, validateBatchRequest, validateEnvelope, validateEvent } from '../../../schemas/index.js';

const base = { anonymousId: 'anon-1', messageId: 'm-1', timestamp: '2026-11-22T10:00:00Z' };
const validByType: Record<(typeof EVENT_TYPES)[number], Record<string, unknown>> = {
  track: { ...base, type: 'track', event: 'Signed Up', properties: { plan: 'pro' } },
  page: { ...base, type: 'page', name: 'Pricing', properties: { path: '/pricing' } },
  screen: { ...base, type: 'screen', name: 'Home' },
  identify: { ...base, type: 'identify', userId: 'user-1', traits: { email: 'a@example.com' } },
  group: { ...base, type: 'group', groupId: 'acme', traits: { plan: 'enterprise' } },
  alias: { ...base, type: 'alias', previousId: 'anon-1', userId: 'user-1' },
};

describe('event schemas', () => {
  it.each(EVENT_TYPES)('accepts a valid %s event', (type) => {
    expect(validateEvent(validByType[type])).toEqual({ ok: true, value: validByType[type] });
  });

  it.each([
    ['track without event', { ...validByType.track, event: undefined }, "(event) must have required property 'event'"],
    ['group without groupId', { ...validByType.group, groupId: undefined }, "(event) must have required property 'groupId'"],
    ['alias without previousId', { ...validByType.alias, previousId: undefined }, "(event) must have required property 'previousId'"],
    ['no identity', { type: 'page', name: 'x' }, '(event) needs one of userId, anonymousId'],
    ['unknown type', { ...base, type: 'click' }, '/type must be equal to one of the allowed values: track, page, screen, identify, group, alias'],
    ['bad timestamp', { ...validByType.page, timestamp: '22/11/2026' }, '/timestamp must match format "date-time"'],
    ['properties not an object', { ...validByType.track, properties: [1, 2] }, '/properties must be object'],
    ['context.page.url not a string', { ...validByType.page, context: { page: { url: 42 } } }, '/context/page/url must be string'],
    ['empty anonymousId', { type: 'screen', anonymousId: '' }, '/anonymousId must NOT have fewer than 1 characters'],
  ])('refuses %s with a readable reason', (_label, event, reason) => {
    const stripped = JSON.parse(JSON.stringify(event)) as unknown;
    expect(validateEvent(stripped)).toEqual({ ok: false, reason });
  });

  it('checks only the envelope at ingest: a track without event name passes, to fail later as a bad row', () => {
    expect(validateEnvelope({ type: 'track', userId: 'u' }).ok).toBe(true);
    expect(validateEvent({ type: 'track', userId: 'u' }).ok).toBe(false);
  });

  it('accepts numeric user ids, as Segment does', () => {
    expect(validateEvent({ ...validByType.identify, userId: 12345 }).ok).toBe(true);
  });

  it('validates the batch body without looking inside the events', () => {
    expect(validateBatchRequest({ batch: [1, 'x', {}] }).ok).toBe(true);
    expect(validateBatchRequest({ batch: [] })).toEqual({ ok: false, reason: '/batch must NOT have fewer than 1 items' });
    expect(validateBatchRequest({ events: [] })).toEqual({ ok: false, reason: "(event) must have required property 'batch'" });
  });
});
