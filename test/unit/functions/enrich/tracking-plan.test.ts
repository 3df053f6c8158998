import { describe, expect, it } from 'vitest';
import { MAX_VIOLATIONS, TrackingPlans } from '../../../../functions/enrich/tracking-plan.js';
import type { SegmentEvent } from '../../../../schemas/index.js';
import { readTrackingPlans } from '../../../../schemas/tracking-plans.js';

const plans = new TrackingPlans(readTrackingPlans());
const track = (event: string, properties: Record<string, unknown>) => ({ type: 'track', event, properties, anonymousId: 'a' }) as unknown as SegmentEvent;

describe('TrackingPlans (the plans in schemas/)', () => {
  it('lets an event that follows its plan pass, naming the plan and version that checked it', () => {
    expect(plans.check(track('Order Completed', { order_id: 'o-1', revenue: 49, currency: 'USD', coupon: 'extra properties are fine' }))).toEqual({ plan: 'Order Completed 1-0-0', action: 'flag', violations: [] });
  });

  it('lists every violation with its path: a wrong type, a pattern, a missing property', () => {
    expect(plans.check(track('Order Completed', { revenue: '49.00', currency: 'usd' }))).toEqual({
      plan: 'Order Completed 1-0-0',
      action: 'flag',
      violations: ['properties.order_id: is required', 'properties.revenue: must be number', 'properties.currency: must match pattern "^[A-Z]{3}$"'],
    });
  });

  it('rejects by its plan: Signed Up with an unknown method', () => {
    expect(plans.check(track('Signed Up', { plan: 'pro', method: 'fax' }))).toEqual({ plan: 'Signed Up 1-0-0', action: 'reject', violations: ['properties.method: must be one of email, google, github'] });
  });

  it("checks identify's traits against the traits plan, and leaves events without a plan alone", () => {
    const identify = { type: 'identify', userId: 'u-1', traits: { email: 'not an address' } } as unknown as SegmentEvent;
    expect(plans.check(identify)).toEqual({ plan: 'identify 1-0-0', action: 'flag', violations: ['traits.email: must match pattern "^[^@\\s]+@[^@\\s]+$"'] });
    expect(plans.check(track('Video Played', { anything: 1 }))).toBeUndefined();
    expect(plans.check({ type: 'page', anonymousId: 'a', properties: {} } as unknown as SegmentEvent)).toBeUndefined();
  });

  it(`keeps at most ${MAX_VIOLATIONS} violations however broken an event is`, () => {
    const wide = new TrackingPlans({ events: [{ name: 'Wide', version: '1-0-0', file: 'x', action: 'flag', schema: { type: 'object', properties: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, { type: 'number' }])) } }], identify: null });
    const result = wide.check(track('Wide', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, 'x']))));
    expect(result?.violations).toHaveLength(MAX_VIOLATIONS);
  });
});
