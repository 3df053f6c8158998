// The events not yet acknowledged, oldest first, mirrored to storage on every change so that they
// survive a reload, a crash or a closed tab and are sent on the next visit. Bounded: over the cap the
// oldest events are dropped, and the caller is told how many.
import type { StorageLike } from './window.js';

export interface QueuedEvent {
  messageId: string;
  [field: string]: unknown;
}

const KEY = 'cs_queue';

export class EventQueue {
  events: QueuedEvent[];

  constructor(
    private readonly storage: StorageLike,
    private readonly cap: number,
  ) {
    this.events = load(storage);
  }

  /** Appends the event and returns the events dropped to stay within the cap. */
  push(event: QueuedEvent): QueuedEvent[] {
    this.events.push(event);
    const dropped = this.events.splice(0, Math.max(0, this.events.length - this.cap));
    this.save();
    return dropped;
  }

  remove(messageIds: Set<string>): void {
    this.events = this.events.filter((event) => !messageIds.has(event.messageId));
    this.save();
  }

  private save(): void {
    // Several tabs share one key, so the last writer wins: a tab's unsent events are rewritten by its
    // own next change and beaconed when it closes. See tracker/README.md.
    if (this.events.length) this.storage.setItem(KEY, JSON.stringify(this.events));
    else this.storage.removeItem(KEY);
  }
}

function load(storage: StorageLike): QueuedEvent[] {
  try {
    const stored: unknown = JSON.parse(storage.getItem(KEY) ?? '[]');
    return Array.isArray(stored) ? stored.filter((e): e is QueuedEvent => typeof e?.messageId === 'string') : [];
  } catch {
    return [];
  }
}
