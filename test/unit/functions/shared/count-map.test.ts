// CountMap against a JS Map under random changes: keys come and go (each removal shifts the keys after it
// back), the map grows past its first capacity, and every count read back matches.
import { describe, expect, it } from 'vitest';
import { CountMap } from '../../../../functions/shared/count-map.js';
import { mulberry32 } from '../../../../local/demo/model.js';

/** Random changes to a CountMap of `capacity` slots over `keyCount` keys, checked against a Map. */
function check(seed: number, keyCount: number, steps: number, capacity: number, maxLoad?: number): CountMap {
  const next = mulberry32(seed);
  const map = new CountMap(capacity, maxLoad);
  const expected = new Map<string, number>();
  const keys = Array.from({ length: keyCount }, () => [Math.floor(next() * 4), Math.floor(next() * 2 ** 32), Math.floor(next() * 50)] as const);
  for (let step = 0; step < steps; step++) {
    const [a, b, c] = keys[Math.floor(next() * keys.length)]!;
    const id = `${a},${b},${c}`;
    const delta = next() < 0.55 ? 1 : -1;
    const before = expected.get(id) ?? 0;
    const after = before === 0 && delta < 0 ? -1 : before + delta;
    expect(map.change(a, b, c, delta)).toBe(after);
    if (after > 0) expected.set(id, after);
    else expected.delete(id);
    expect(map.size).toBe(expected.size);
    if (step % 1_000 === 0) for (const [k, n] of expected) expect(map.get(...(k.split(',').map(Number) as [number, number, number]))).toBe(n);
  }
  for (const [a, b, c] of keys) expect(map.get(a, b, c)).toBe(expected.get(`${a},${b},${c}`) ?? 0);
  return map;
}

describe('CountMap', () => {
  it('keeps the same counts as a Map while keys are added, changed and removed, and grows', () => {
    // Few keys for the changes, so most meet a key already there and long probe runs form.
    const map = check(7, 3_000, 60_000, 16);
    expect(map.capacity).toBeGreaterThanOrEqual(2 * map.size);
    expect(map.capacity).toBeGreaterThan(16);
  });

  it('fills to 3/4 of its slots when asked to, with the same counts', () => {
    const map = check(11, 3_000, 60_000, 16, 0.75);
    expect(map.capacity * 0.75).toBeGreaterThanOrEqual(map.size);
    expect(map.capacity).toBeLessThan(2 * map.size);
    for (let seed = 1; seed <= 100; seed++) expect(check(seed, 12, 200, 16, 0.75).capacity).toBe(16);
  });

  it('keeps them where probe runs wrap past the last slot', () => {
    // At most 8 keys in 16 slots: a run that passes the end goes on at slot 0, and a removal must follow it.
    for (let seed = 1; seed <= 300; seed++) expect(check(seed, 8, 200, 16).capacity).toBe(16);
  });
});
