// The parts of the browser the SDK uses. The browser entry passes `window`; unit tests pass hand-made
// fakes. Every member a browser may lack (or refuse, like localStorage with cookies blocked) is optional.

export interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export interface RequestInitLike {
  method: string;
  headers: Record<string, string>;
  body: string;
  keepalive: boolean;
  credentials: 'omit';
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

type Listener = (event: { type: string }) => void;

export interface WindowLike {
  fetch?(url: string, init: RequestInitLike): Promise<ResponseLike>;
  Blob?: new (parts: string[], options: { type: string }) => unknown;
  navigator: {
    onLine?: boolean;
    userAgent?: string;
    language?: string;
    sendBeacon?(url: string, data: unknown): boolean;
  };
  /** A getter that throws in some browsers when storage is disabled: read it inside try. */
  localStorage?: StorageLike;
  document: {
    title: string;
    referrer: string;
    cookie: string;
    visibilityState?: string;
    addEventListener(type: string, listener: Listener): void;
  };
  location: { href: string; pathname: string; search: string; hash: string };
  history?: {
    pushState(data: unknown, unused: string, url?: string | null): void;
    replaceState(data: unknown, unused: string, url?: string | null): void;
  };
  screen?: { width: number; height: number };
  devicePixelRatio?: number;
  crypto?: { randomUUID?(): string; getRandomValues?(array: Uint8Array): Uint8Array };
  addEventListener(type: string, listener: Listener): void;
  setTimeout(handler: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}
