// Hand-made fakes of the browser parts the tracker uses (fetch, sendBeacon, Blob, localStorage,
// document, location, history, window events). Timers are the global ones, so vi.useFakeTimers()
// drives the tracker's batching and retry delays.
import { webcrypto } from 'node:crypto';
import { vi } from 'vitest';
import type { RequestInitLike, ResponseLike, StorageLike, WindowLike } from '../../../tracker/src/window.js';

export interface SentRequest {
  url: string;
  init: RequestInitLike;
  body: { batch: Array<Record<string, unknown> & { messageId: string }>; sentAt: string; writeKey: string };
}

/** What the fake API answers next: a status (with body and headers), or a network failure. */
export type ScriptedAnswer = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error';

export class FakeBlob {
  constructor(
    readonly parts: string[],
    readonly options: { type: string },
  ) {}
  get type(): string {
    return this.options.type;
  }
  text(): string {
    return this.parts.join('');
  }
}

export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

type Listener = (event: { type: string }) => void;

export interface FakeWindowOptions {
  href?: string;
  referrer?: string;
  title?: string;
  /** Shared between fake windows to model a reload; `'throws'` models blocked storage. */
  localStorage?: StorageLike | 'throws' | 'absent';
  /** No crypto.randomUUID (insecure context), or no crypto at all. */
  crypto?: 'full' | 'getRandomValues' | 'none';
  sendBeacon?: boolean;
}

export class FakeWindow implements WindowLike {
  readonly requests: SentRequest[] = [];
  readonly beacons: { url: string; blob: FakeBlob; body: SentRequest['body'] }[] = [];
  /** Answers for the next requests, in order; when empty the API accepts everything. */
  readonly answers: ScriptedAnswer[] = [];
  beaconAccepts = true;
  private readonly listeners = new Map<string, Listener[]>();
  private readonly documentListeners = new Map<string, Listener[]>();
  private cookieJar = new Map<string, string>();

  readonly Blob = FakeBlob;
  readonly navigator: WindowLike['navigator'] & { onLine: boolean };
  readonly localStorage?: StorageLike;
  readonly document: WindowLike['document'] & { visibilityState: string };
  readonly location = { href: '', pathname: '', search: '', hash: '' };
  readonly history: NonNullable<WindowLike['history']>;
  readonly screen = { width: 1440, height: 900 };
  readonly devicePixelRatio = 2;
  readonly crypto?: WindowLike['crypto'];

  readonly fetch = vi.fn(async (url: string, init: RequestInitLike): Promise<ResponseLike> => {
    this.requests.push({ url, init, body: JSON.parse(init.body) as SentRequest['body'] });
    const answer = this.answers.shift() ?? { status: 200 };
    if (answer === 'network-error') throw new TypeError('Failed to fetch');
    const count = this.requests.at(-1)!.body.batch.length;
    const body = answer.body ?? (answer.status < 300 ? { success: true, accepted: count, rejected: [] } : { success: false, message: 'nope' });
    const headers = new Map(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return { status: answer.status, headers: { get: (name) => headers.get(name.toLowerCase()) ?? null }, json: async () => body };
  });

  constructor(options: FakeWindowOptions = {}) {
    this.navigate(options.href ?? 'https://shop.example/');
    this.navigator = {
      onLine: true,
      userAgent: 'Mozilla/5.0 (FakeBrowser)',
      language: 'en-GB',
      ...(options.sendBeacon === false
        ? {}
        : {
            sendBeacon: vi.fn((url: string, data: unknown) => {
              if (!this.beaconAccepts) return false;
              const blob = data as FakeBlob;
              this.beacons.push({ url, blob, body: JSON.parse(blob.text()) as SentRequest['body'] });
              return true;
            }),
          }),
    };
    if (options.localStorage === 'throws') {
      Object.defineProperty(this, 'localStorage', {
        get() {
          throw new Error('SecurityError: storage is disabled');
        },
      });
    } else if (options.localStorage !== 'absent') {
      this.localStorage = options.localStorage ?? new MemoryStorage();
    }
    const jar = this.cookieJar;
    this.document = {
      title: options.title ?? 'Home',
      referrer: options.referrer ?? '',
      visibilityState: 'visible',
      get cookie() {
        return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      },
      set cookie(value: string) {
        const [pair, ...attributes] = value.split('; ');
        const [name, content] = pair!.split('=') as [string, string];
        if (attributes.includes('max-age=0')) jar.delete(name);
        else jar.set(name, content);
      },
      addEventListener: (type, listener) => this.documentListeners.set(type, [...(this.documentListeners.get(type) ?? []), listener]),
    };
    this.history = {
      pushState: (_data, _unused, url) => url && this.navigate(url),
      replaceState: (_data, _unused, url) => url && this.navigate(url),
    };
    if (options.crypto !== 'none') {
      this.crypto =
        options.crypto === 'getRandomValues'
          ? { getRandomValues: (array: Uint8Array) => webcrypto.getRandomValues(array) }
          : { randomUUID: () => webcrypto.randomUUID(), getRandomValues: (array: Uint8Array) => webcrypto.getRandomValues(array) };
    }
  }

  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  setTimeout(handler: () => void, ms: number): unknown {
    return setTimeout(handler, ms);
  }
  clearTimeout(id: unknown): void {
    clearTimeout(id as ReturnType<typeof setTimeout>);
  }

  /** Moves the fake location (what pushState does, or the user following an in-page link). */
  navigate(url: string): void {
    const next = new URL(url, this.location.href || undefined);
    Object.assign(this.location, { href: next.href, pathname: next.pathname, search: next.search, hash: next.hash });
  }
  dispatch(type: string): void {
    for (const listener of this.listeners.get(type) ?? []) listener({ type });
  }
  dispatchOnDocument(type: string): void {
    for (const listener of this.documentListeners.get(type) ?? []) listener({ type });
  }
  /** Every event the API received, in order, from fetch and beacons. */
  sentEvents(): SentRequest['body']['batch'] {
    return [...this.requests.flatMap((r) => r.body.batch), ...this.beacons.flatMap((b) => b.body.batch)];
  }
}
