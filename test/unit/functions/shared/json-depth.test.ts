import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../../functions/shared/json-depth.js';

/** Depth by plain recursion, as the reference on small values: a scalar is 0, {} and [] are 1. */
const depthOf = (value: unknown): number =>
  typeof value !== 'object' || value === null ? 0 : 1 + Math.max(0, ...(Array.isArray(value) ? value : Object.values(value)).map(depthOf));

describe('exceedsJsonDepth', () => {
  it('agrees with the recursive depth on any JSON value, at any bound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 14 }), (value, bound) => {
        expect(exceedsJsonDepth(value, bound)).toBe(depthOf(value) > bound);
      }),
    );
  });

  it('takes the default bound as the limit itself: 64 levels pass, 65 do not', () => {
    const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('answers for 100,000 levels without overflowing the stack', () => {
    const deep: unknown = JSON.parse(`{"p":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(exceedsJsonDepth(deep)).toBe(true);
  });
});
