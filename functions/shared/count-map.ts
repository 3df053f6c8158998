/**
 * Counts by keys of three 32-bit words, in two typed arrays (open addressing, linear probing; a key leaves
 * when its count falls to 0, and the keys after it shift back, so no tombstones pile up): 16 bytes a slot,
 * no JS object per key, nothing for V8's collector to mark. The dashboard keeps the last hour's distinct
 * events and (what, visitor) pairs in it; the enrich function's dedup ledger, the ids each shard delivered.
 */
export class CountMap {
  private words!: Uint32Array;
  private counts!: Uint32Array;
  private mask = 0;
  /** Keys in the map. */
  size = 0;

  /**
   * `capacity`: the slots to start with. `maxLoad`: the share of the slots keys may fill before the map
   * doubles. Linear probing stays short to 3/4: a map that rarely loses keys can go that far.
   */
  constructor(
    capacity = 1 << 10,
    private readonly maxLoad = 0.5,
  ) {
    this.allocate(capacity);
  }

  /** Slots held: a power of two, at least the most keys the map has held over maxLoad. */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes of the typed arrays. */
  get bytes(): number {
    return this.words.byteLength + this.counts.byteLength;
  }

  /** The key's count (each word an unsigned 32-bit integer), 0 if it is not in the map. */
  get(a: number, b: number, c: number): number {
    return this.counts[this.find(a, b, c)]!;
  }

  /** Adds `delta` to the key's count and returns the new count; at 0 the key leaves. A key not in the map stays out if `delta` is not positive (-1 is returned). */
  change(a: number, b: number, c: number, delta: number): number {
    let slot = this.find(a, b, c);
    const count = this.counts[slot]!;
    if (count === 0) {
      if (delta <= 0) return -1;
      if (this.size + 1 > this.capacity * this.maxLoad) {
        this.grow();
        slot = this.find(a, b, c);
      }
      this.words[slot * 3] = a;
      this.words[slot * 3 + 1] = b;
      this.words[slot * 3 + 2] = c;
      this.counts[slot] = delta;
      this.size++;
      return delta;
    }
    const next = Math.max(0, count + delta);
    if (next === 0) this.remove(slot);
    else this.counts[slot] = next;
    return next;
  }

  /** The slot that holds the key, or the empty slot where it would go. */
  private find(a: number, b: number, c: number): number {
    const { words, counts, mask } = this;
    let slot = mix(a, b, c) & mask;
    while (counts[slot] !== 0 && (words[slot * 3] !== a || words[slot * 3 + 1] !== b || words[slot * 3 + 2] !== c)) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  /** Empties the slot, and moves back each key after it that would no longer be found past the gap. */
  private remove(slot: number): void {
    const { words, counts, mask } = this;
    let gap = slot;
    for (let next = (gap + 1) & mask; counts[next] !== 0; next = (next + 1) & mask) {
      const home = mix(words[next * 3]!, words[next * 3 + 1]!, words[next * 3 + 2]!) & mask;
      // The key stays if its home lies cyclically in (gap, next].
      const stays = gap <= next ? gap < home && home <= next : gap < home || home <= next;
      if (stays) continue;
      words.copyWithin(gap * 3, next * 3, next * 3 + 3);
      counts[gap] = counts[next]!;
      gap = next;
    }
    counts[gap] = 0;
    this.size--;
  }

  private allocate(capacity: number): void {
    let slots = 16;
    while (slots < capacity) slots *= 2;
    this.words = new Uint32Array(slots * 3);
    this.counts = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  private grow(): void {
    const { words, counts } = this;
    this.allocate(this.capacity * 2);
    for (let slot = 0; slot < counts.length; slot++) {
      if (counts[slot] === 0) continue;
      const target = this.find(words[slot * 3]!, words[slot * 3 + 1]!, words[slot * 3 + 2]!);
      this.words.set(words.subarray(slot * 3, slot * 3 + 3), target * 3);
      this.counts[target] = counts[slot]!;
    }
  }
}

/** A 32-bit hash of the three words (murmur3's multipliers and finaliser). */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ b, 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
