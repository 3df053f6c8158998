// The public API, one tracker per page: `init` once, then `track`, `page`, `identify`, `flush`, `reset`.
// Calls made before `init` (e.g. from a component that loads first) are kept and replayed by `init`.
import { Tracker, type TrackerOptions } from './tracker.js';
import type { WindowLike } from './window.js';

export type { TrackerError, TrackerOptions, TrackerStats } from './tracker.js';
export { Tracker } from './tracker.js';
export { VERSION } from './version.js';

let tracker: Tracker | undefined;
const early: ((t: Tracker) => void)[] = [];

const call = (fn: (t: Tracker) => void): void => {
  if (tracker) fn(tracker);
  else if (early.length < 100) early.push(fn);
};

/** Starts the tracker; a second call is ignored and returns the running one. */
export function init(options: TrackerOptions): Tracker {
  if (!tracker) {
    tracker = new Tracker(options, globalThis as unknown as WindowLike);
    early.splice(0).forEach((fn) => fn(tracker!));
  }
  return tracker;
}

export const track = (event: string, properties?: Record<string, unknown>): void => call((t) => t.track(event, properties));
export const page = (name?: string, properties?: Record<string, unknown>): void => call((t) => t.page(name, properties));
export const identify = (userId?: string | null, traits?: Record<string, unknown>): void => call((t) => t.identify(userId, traits));
export const reset = (): void => call((t) => t.reset());
export const flush = (): Promise<void> => tracker?.flush() ?? Promise.resolve();
export const anonymousId = (): string | undefined => tracker?.anonymousId();
export const stats = () => tracker?.stats();
