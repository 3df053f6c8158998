import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTrackingPlans } from '../../../schemas/generate-tracking-plans.js';
import { planSlug, readTrackingPlans, TRACKING_PLANS_FILE } from '../../../schemas/tracking-plans.js';

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = '';
});

function plans(files: Record<string, unknown>): string {
  root = mkdtempSync(join(tmpdir(), 'plans-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const plan = (title: string, extra: Record<string, unknown> = {}) => ({ title, type: 'object', properties: {}, ...extra });

describe('tracking plans (schemas/events, schemas/traits)', () => {
  it('tracking-plans.generated.json is up to date (run `npm run gen:plans`)', () => {
    expect(readFileSync(TRACKING_PLANS_FILE, 'utf8')).toBe(generateTrackingPlans());
  });

  it('puts the highest SchemaVer of each folder in force, by number, not by text', () => {
    const document = readTrackingPlans(plans({
      'events/order-completed/1-0-0.json': plan('Order Completed'),
      'events/order-completed/1-0-10.json': plan('Order Completed', { 'x-violation': 'reject' }),
      'events/order-completed/1-0-9.json': plan('Order Completed'),
      'events/order-completed/notes.md': 'not a plan',
      'traits/identify/1-0-0.json': plan('identify'),
      'traits/identify/2-0-0.json': plan('identify', { required: ['email'] }),
    }));
    expect(document.events.map((p) => [p.name, p.version, p.action, p.file])).toEqual([['Order Completed', '1-0-10', 'reject', 'events/order-completed/1-0-10.json']]);
    expect(document.identify).toMatchObject({ name: 'identify', version: '2-0-0', action: 'flag' });
  });

  it('refuses a plan without a title, an unknown x-violation, a non-object schema, and two plans for one event', () => {
    expect(() => readTrackingPlans(plans({ 'events/a/1-0-0.json': { type: 'object' } }))).toThrow('events/a/1-0-0.json: a tracking plan needs a "title"');
    expect(() => readTrackingPlans(plans({ 'events/a/1-0-0.json': plan('A', { 'x-violation': 'drop' }) }))).toThrow('"x-violation" must be "flag" or "reject"');
    expect(() => readTrackingPlans(plans({ 'events/a/1-0-0.json': plan('A', { type: 'string' }) }))).toThrow('describes an object');
    expect(() => readTrackingPlans(plans({ 'events/a/1-0-0.json': plan('A'), 'events/b/1-0-0.json': plan('A') }))).toThrow('two tracking plans for "A"');
  });

  it('names folders after events', () => {
    expect(planSlug('Order Completed')).toBe('order-completed');
    expect(planSlug('  Checkout: Step 2/3 ')).toBe('checkout-step-2-3');
    expect(planSlug('✓')).toBe('event');
  });
});
