// The tracker: builds Segment-spec events, queues them durably, sends them in batches, retries what
// the server could not store, and drains the queue with sendBeacon when the page goes away.
import { uuid } from './ids.js';
import { EventQueue, type QueuedEvent } from './queue.js';
import { Session } from './session.js';
import { cookieStorage, localStorageOf, memoryStorage, safe } from './storage.js';
import { byteLength, headChunk, MAX_EVENT_BYTES, post, requestBody, type Outcome, type Rejection } from './transport.js';
import { LIBRARY_NAME, VERSION } from './version.js';
import type { StorageLike, WindowLike } from './window.js';

export interface TrackerOptions {
  writeKey: string;
  /** The ingest API's origin, e.g. https://abc.execute-api.eu-west-1.amazonaws.com. */
  host: string;
  /** Default /v1/batch. */
  path?: string;
  /** Send as soon as this many events are queued. Default 20. */
  flushAt?: number;
  /** Send queued events at most this long (ms) after the first of them. Default 5000. */
  flushInterval?: number;
  /** Events kept while they cannot be sent (offline, server down); the oldest go first. Default 500. */
  maxQueueSize?: number;
  /** Failed sends of an event before it is dropped (and reported). Default 10. */
  maxRetries?: number;
  /** First retry delay (ms), doubled per consecutive failure, with jitter. Default 1000. */
  retryBaseDelay?: number;
  /** Longest retry delay (ms) unless the server's Retry-After asks for more. Default 60000. */
  retryMaxDelay?: number;
  /** A session ends after this long (ms) without an event. Default 30 minutes. */
  sessionTimeout?: number;
  /** A page view on start and on every SPA route change (pushState, replaceState, popstate). Default true. */
  autoPage?: boolean;
  /** Called whenever events are lost: refused or rejected by the server, given up on, or dropped. */
  onError?: (error: TrackerError) => void;
  /** Log sends, retries and errors to the console. */
  debug?: boolean;
}

export interface TrackerError {
  /**
   * rejected: the server named these events as invalid (per-event reasons in `rejected`);
   * refused: the server refused the whole request (400/401/413/415…), no retry;
   * gave-up: maxRetries failed sends; queue-full: dropped, oldest first, to stay within maxQueueSize;
   * too-large: over the API's 32 KB per event, never queued.
   */
  type: 'rejected' | 'refused' | 'gave-up' | 'queue-full' | 'too-large';
  message: string;
  messageIds: string[];
  status?: number;
  rejected?: Rejection[];
}

export interface TrackerStats {
  queued: number;
  accepted: number;
  /** Every event lost so far, whatever the reason (each loss is also reported to onError). */
  lost: number;
  /** Of which dropped because the queue was full. */
  dropped: number;
}

type Properties = Record<string, unknown>;

const ANONYMOUS_ID_KEY = 'cs_anonymous_id';
const USER_ID_KEY = 'cs_user_id';

export class Tracker {
  private readonly url: string;
  private readonly options: Required<Omit<TrackerOptions, 'onError' | 'path'>> & Pick<TrackerOptions, 'onError'>;
  private readonly identity: StorageLike;
  private readonly queue: EventQueue;
  private readonly session: Session;
  private anonymous: string;
  private user: string | null;
  private referrer: string;
  private lastPageUrl: string | undefined;
  private sending: Promise<void> | undefined;
  private inFlight = new Set<string>();
  private timer: unknown;
  private timerAt = 0;
  private failures = 0;
  private backoffUntil = 0;
  private readonly attempts = new Map<string, number>();
  private readonly counts = { accepted: 0, lost: 0, dropped: 0 };

  constructor(
    options: TrackerOptions,
    private readonly win: WindowLike,
  ) {
    if (!options.writeKey || !options.host) throw new Error('clickstream: init needs writeKey and host');
    this.url = options.host.replace(/\/+$/, '') + (options.path ?? '/v1/batch');
    this.options = {
      flushAt: 20,
      flushInterval: 5_000,
      maxQueueSize: 500,
      maxRetries: 10,
      retryBaseDelay: 1_000,
      retryMaxDelay: 60_000,
      sessionTimeout: 30 * 60_000,
      autoPage: true,
      debug: false,
      ...options,
    };
    const local = localStorageOf(win);
    this.identity = safe(local ?? cookieStorage(win) ?? memoryStorage());
    this.queue = new EventQueue(safe(local ?? memoryStorage()), this.options.maxQueueSize);
    this.session = new Session(this.identity, this.options.sessionTimeout);
    this.anonymous = this.identity.getItem(ANONYMOUS_ID_KEY) ?? this.newAnonymousId();
    this.user = this.identity.getItem(USER_ID_KEY);
    this.referrer = win.document.referrer;

    win.addEventListener('online', () => {
      this.backoffUntil = this.failures = 0;
      void this.flush();
    });
    // Leaving or closing the page: hand everything not already in flight to the browser.
    win.addEventListener('pagehide', () => this.drainWithBeacon());
    // Hidden may be the last event a mobile browser fires; a keepalive fetch outlives the page too,
    // and if the page does come back, its answer still drives retries.
    win.document.addEventListener('visibilitychange', () => {
      if (win.document.visibilityState === 'hidden') this.sendSoon();
    });
    if (this.options.autoPage) {
      this.watchHistory();
      this.page();
    }
    if (this.queue.events.length) this.schedule(0);
  }

  track(event: string, properties?: Properties): void {
    this.capture({ type: 'track', event, properties: { ...properties } });
  }

  /** A page view; context.page and the properties carry url, path, referrer, title and search. */
  page(name?: string, properties?: Properties): void {
    const url = this.currentUrl();
    // In a single-page app the previous route is the referrer of the next one.
    if (this.lastPageUrl !== undefined && url !== this.lastPageUrl) this.referrer = this.lastPageUrl;
    this.lastPageUrl = url;
    this.capture({ type: 'page', ...(name ? { name } : {}), properties: { ...this.pageContext(), ...(name ? { name } : {}), ...properties } });
  }

  /** Ties this device to a user: every later event carries the userId until reset(). */
  identify(userId?: string | null, traits?: Properties): void {
    if (userId) this.identity.setItem(USER_ID_KEY, (this.user = String(userId)));
    this.capture({ type: 'identify', traits: { ...traits } });
  }

  /** Sends every queued event now, in order; resolves when the queue is empty or a retry is scheduled. */
  flush(): Promise<void> {
    return (this.sending ??= this.drain(true).finally(() => (this.sending = undefined)));
  }

  /** Logout: a new anonymous id and session, no user id. Queued events keep the identity they had. */
  reset(): void {
    this.user = null;
    this.identity.removeItem(USER_ID_KEY);
    this.anonymous = this.newAnonymousId();
    this.session.reset();
  }

  anonymousId(): string {
    return this.anonymous;
  }

  stats(): TrackerStats {
    return { queued: this.queue.events.length, ...this.counts };
  }

  private capture(fields: Properties): void {
    const now = Date.now();
    const event: QueuedEvent = {
      ...fields,
      messageId: uuid(this.win),
      anonymousId: this.anonymous,
      ...(this.user ? { userId: this.user } : {}),
      // Event time on the client's clock; sentAt (set per request) lets the server correct the clock.
      timestamp: new Date(now).toISOString(),
      context: this.context(now),
    };
    if (byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) {
      this.lose({ type: 'too-large', message: `event is over ${MAX_EVENT_BYTES} bytes`, messageIds: [event.messageId] });
      return;
    }
    const dropped = this.queue.push(event);
    if (dropped.length) {
      this.counts.dropped += dropped.length;
      this.lose({ type: 'queue-full', message: `queue full: dropped ${dropped.length} oldest event(s)`, messageIds: ids(dropped) });
    }
    if (this.queue.events.length >= this.options.flushAt) this.schedule(0);
    else this.schedule(this.options.flushInterval);
  }

  private context(now: number): Properties {
    const { navigator, screen } = this.win;
    let timezone: string | undefined;
    try {
      timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch {
      // No Intl time zone support: leave it out.
    }
    return {
      library: { name: LIBRARY_NAME, version: VERSION },
      page: this.pageContext(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      timezone,
      ...(screen ? { screen: { width: screen.width, height: screen.height, density: this.win.devicePixelRatio } } : {}),
      ...this.session.touch(now),
    };
  }

  private pageContext(): Properties {
    const { location, document } = this.win;
    return { path: location.pathname, referrer: this.referrer, search: location.search, title: document.title, url: this.currentUrl() };
  }

  /** The page URL without its fragment: an in-page anchor is not a new page. */
  private currentUrl(): string {
    return this.win.location.href.split('#')[0]!;
  }

  private watchHistory(): void {
    const { history } = this.win;
    // Deferred so that the app has set the new route's title by the time the page view is built.
    const changed = () => this.win.setTimeout(() => this.currentUrl() !== this.lastPageUrl && this.page(), 0);
    if (history) {
      for (const method of ['pushState', 'replaceState'] as const) {
        const original = history[method];
        history[method] = function (this: unknown, ...args: Parameters<typeof original>) {
          original.apply(this, args);
          changed();
        };
      }
    }
    this.win.addEventListener('popstate', changed);
  }

  private schedule(delay: number): void {
    const at = Date.now() + delay;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.win.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.win.setTimeout(() => {
      this.timer = undefined;
      this.sendSoon();
    }, delay);
  }

  /** Like flush, but a retry delay the server asked for is respected. */
  private sendSoon(): void {
    void (this.sending ??= this.drain(false).finally(() => (this.sending = undefined)));
  }

  /** Sends the queue head first, one request at a time, until it is empty or a send must wait. */
  private async drain(force: boolean): Promise<void> {
    while (this.queue.events.length) {
      if (this.win.navigator.onLine === false) return; // the online event starts the next drain
      const wait = this.backoffUntil - Date.now();
      if (!force && wait > 0) return this.schedule(wait);
      const chunk = headChunk(this.queue.events);
      this.inFlight = new Set(ids(chunk));
      const outcome = await post(this.win, this.url, requestBody(chunk, this.options.writeKey));
      this.inFlight = new Set();
      if (outcome.kind === 'retry') return this.retryLater(chunk, outcome);
      this.settle(chunk, outcome);
    }
  }

  private settle(chunk: QueuedEvent[], outcome: Exclude<Outcome, { kind: 'retry' }>): void {
    const sent = new Set(ids(chunk));
    this.queue.remove(sent);
    sent.forEach((id) => this.attempts.delete(id));
    this.failures = this.backoffUntil = 0;
    const rejectedIds = outcome.rejected.map((r) => r.messageId ?? ids(chunk)[r.index]!);
    if (outcome.kind === 'sent') {
      this.counts.accepted += chunk.length - outcome.rejected.length;
      this.log('sent', chunk.length, 'events; rejected', outcome.rejected.length);
      if (outcome.rejected.length) {
        this.lose({ type: 'rejected', message: outcome.rejected[0]!.reason, status: outcome.status, messageIds: rejectedIds, rejected: outcome.rejected });
      }
    } else {
      this.lose({ type: 'refused', message: outcome.message, status: outcome.status, messageIds: [...sent], rejected: outcome.rejected });
    }
  }

  private retryLater(chunk: QueuedEvent[], outcome: Extract<Outcome, { kind: 'retry' }>): void {
    // Offline is not the server's fault: nothing is counted, and the online event resumes sending.
    if (outcome.status === undefined && this.win.navigator.onLine === false) return;
    const spent = chunk.filter((e) => {
      const attempts = (this.attempts.get(e.messageId) ?? 0) + 1;
      this.attempts.set(e.messageId, attempts);
      return attempts > this.options.maxRetries;
    });
    if (spent.length) {
      this.queue.remove(new Set(ids(spent)));
      this.lose({ type: 'gave-up', message: `no success after ${this.options.maxRetries} retries`, status: outcome.status, messageIds: ids(spent) });
    }
    // Exponential backoff with equal jitter, so that many clients do not come back in step.
    const ceiling = Math.min(this.options.retryMaxDelay, this.options.retryBaseDelay * 2 ** this.failures++);
    const delay = Math.max(ceiling / 2 + (Math.random() * ceiling) / 2, outcome.retryAfterMs ?? 0);
    this.backoffUntil = Date.now() + delay;
    this.log('retry in', Math.round(delay), 'ms after', outcome.status ?? 'a network error');
    this.win.clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule(delay);
  }

  private drainWithBeacon(): void {
    const { navigator, Blob } = this.win;
    if (!navigator.sendBeacon || !Blob) return void this.flush();
    // The request in flight is a keepalive fetch: it completes without us.
    let pending = this.queue.events.filter((e) => !this.inFlight.has(e.messageId));
    while (pending.length) {
      const chunk = headChunk(pending);
      const blob = new Blob([requestBody(chunk, this.options.writeKey)], { type: 'text/plain' });
      // false: over the browser's beacon budget; the rest stays queued for the next visit.
      if (!navigator.sendBeacon(this.url, blob)) return;
      this.queue.remove(new Set(ids(chunk)));
      pending = pending.slice(chunk.length);
      this.log('beaconed', chunk.length, 'events');
    }
  }

  private newAnonymousId(): string {
    const id = uuid(this.win);
    this.identity.setItem(ANONYMOUS_ID_KEY, id);
    return id;
  }

  private lose(error: TrackerError): void {
    this.counts.lost += error.messageIds.length;
    this.log(error.type, error.message);
    try {
      this.options.onError?.(error);
    } catch {
      // A failing error hook must not break tracking.
    }
  }

  private log(...message: unknown[]): void {
    if (this.options.debug) console.log('[clickstream]', ...message);
  }
}

const ids = (events: QueuedEvent[]): string[] => events.map((e) => e.messageId);
