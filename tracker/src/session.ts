// Sessions as RudderStack's and Amplitude's browser SDKs define them: the id is the epoch milliseconds
// at which the session started, a session ends after `timeoutMs` without an event, and it is shared by
// every tab of the origin (it lives in the same storage). The first event of a session says so.
import type { StorageLike } from './window.js';

const KEY = 'cs_session';

export interface SessionStamp {
  sessionId: number;
  sessionStart?: true;
}

export class Session {
  constructor(
    private readonly storage: StorageLike,
    private readonly timeoutMs: number,
  ) {}

  /** The session of an event happening now; starts a new one after the inactivity timeout. */
  touch(now: number): SessionStamp {
    const stored = this.read();
    const fresh = !stored || now - stored.last > this.timeoutMs;
    const id = fresh ? now : stored.id;
    this.storage.setItem(KEY, JSON.stringify({ id, last: now }));
    return fresh ? { sessionId: id, sessionStart: true } : { sessionId: id };
  }

  reset(): void {
    this.storage.removeItem(KEY);
  }

  private read(): { id: number; last: number } | undefined {
    try {
      const value = JSON.parse(this.storage.getItem(KEY) ?? 'null') as { id?: unknown; last?: unknown } | null;
      return typeof value?.id === 'number' && typeof value.last === 'number' ? { id: value.id, last: value.last } : undefined;
    } catch {
      return undefined;
    }
  }
}
