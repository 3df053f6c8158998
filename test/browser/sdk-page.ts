// Third-party browser SDKs (Segment's analytics.js, RudderStack's JS SDK) in a real Chromium, loaded from
// a page on another origin than the ingest API, so that every request is a cross-origin one:
// - the SDK is bundled from node_modules at test time (esbuild, iife) and served from memory;
// - the page's Content-Security-Policy lets it connect only to its own origin and the ingest, so nothing
//   can leave for a CDN or a vendor's API, and any attempt is reported;
// - every request the page makes is recorded over the DevTools protocol: CORS preflights and beacons too,
//   which Playwright's own request events leave out (preflights) or carry no body for (beacons).
//
// Why not Playwright's page.route for the guard: once a route is set, Playwright answers every CORS
// preflight itself with "allow everything", and the ingest's CORS rules would go untested.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { build } from 'esbuild';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { expect } from 'vitest';
import { listen } from '../../local/ports.js';
import { REPOSITORY_ROOT } from '../../local/stack.js';
import { startSdkStack, type EnrichedEvent, type SdkStack } from '../helpers/sdk-stack.js';
import { launchChromium } from './chromium.js';

/**
 * Bundles `module` (a package entry in node_modules, or several: a tracker and its plugins) for a script
 * tag: their exports become `globalThis[globalName]`.
 */
export async function bundleForBrowser(module: string | string[], globalName: string): Promise<string> {
  const modules = typeof module === 'string' ? [module] : module;
  const result = await build({
    stdin: { contents: modules.map((m) => `export * from ${JSON.stringify(m)};`).join('\n'), resolveDir: REPOSITORY_ROOT, loader: 'js', sourcefile: `${globalName}-entry.js` },
    bundle: true,
    format: 'iife',
    globalName,
    platform: 'browser',
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild produced no output for ${modules.join(', ')}`);
  return output.text;
}

export interface PageServer {
  /** http://localhost:<port>: another origin than the ingest's http://127.0.0.1:<port>. */
  origin: string;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a blank page that loads `script` (as /sdk.js), with a CSP that allows connections only to the
 * page's own origin and the origins `connectTo` returns (asked per request: the ingest may start after
 * the page server, whose origin it must know). The server listens on 127.0.0.1; the page is addressed as
 * localhost.
 */
export async function serveSdkPage(options: { script: string; connectTo: () => string[]; title?: string }): Promise<PageServer> {
  const title = options.title ?? 'SDK test page';
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title><script src="/sdk.js"></script></head><body><h1>${title}</h1></body></html>\n`;
  const csp = () =>
    [
      "default-src 'none'",
      "script-src 'self'",
      `connect-src 'self' ${options.connectTo().join(' ')}`,
      "img-src 'self'",
      "style-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page.local').pathname;
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-security-policy': csp() });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (path === '/') return send(200, 'text/html; charset=utf-8', html);
    if (path === '/sdk.js') return send(200, 'text/javascript; charset=utf-8', options.script);
    if (path === '/favicon.ico') return send(204, 'image/x-icon', ''); // the browser asks; a 404 would be a console error
    return send(404, 'text/plain', 'not found\n');
  });
  const { port } = await listen(server, 0);
  const origin = `http://localhost:${port}`;
  return {
    origin,
    url: `${origin}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One request as the browser sent it, with how it ended. */
export interface WireRequest {
  requestId: string;
  method: string;
  url: string;
  origin: string;
  /** Path and query string. */
  path: string;
  /** DevTools resource type: Fetch, XHR, Ping (sendBeacon), Preflight, Document, Script, … */
  type: string;
  /** Request headers as sent (lower-cased names), including Origin and the fetch metadata. */
  headers: Record<string, string>;
  body: string | null;
  status: number | null;
  responseHeaders: Record<string, string>;
  /** Read for requests to the ingest that are not preflights. */
  responseBody: string | null;
  /** Why the request failed (network error, CORS, CSP), or null. */
  failure: string | null;
  done: boolean;
}

export interface SdkPage {
  context: BrowserContext;
  page: Page;
  /** Every request of the page, in the order sent. */
  requests: WireRequest[];
  /** URLs of requests to origins other than the page's and the ingest's, seen by Playwright or DevTools. */
  outside: string[];
  pageErrors: string[];
  /** Console messages of type error or warning. */
  consoleProblems: string[];
  /** CSP violations reported in the page (securitypolicyviolation events). */
  cspViolations(): Promise<string[]>;
  /** Resolves once every request so far has finished or failed; rejects after `timeoutMs`, naming the stragglers. */
  settled(timeoutMs?: number): Promise<void>;
  /** Polls until `done` holds for the recorded requests; rejects after `timeoutMs` with `what`. */
  waitFor(what: string, done: (requests: WireRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const lowerCase = (headers: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]));

interface CdpRequestWillBeSent {
  requestId: string;
  type?: string;
  initiator: { type: string };
  request: { url: string; method: string; headers: Record<string, unknown>; postData?: string; hasPostData?: boolean };
}
interface CdpResponseReceived {
  requestId: string;
  response: { status: number; headers: Record<string, unknown> };
}
interface CdpLoadingFailed {
  requestId: string;
  errorText: string;
  blockedReason?: string;
  corsErrorStatus?: { corsError: string; failedParameter: string };
}

/** Opens the page of `server` in a fresh context, recording from before the first request. */
export async function openSdkPage(browser: Browser, server: PageServer, ingestOrigin: string): Promise<SdkPage> {
  const allowed = new Set([server.origin, ingestOrigin]);
  const context = await browser.newContext();
  await context.addInitScript(`globalThis.__cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => globalThis.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));`);
  const page = await context.newPage();
  const requests: WireRequest[] = [];
  const byId = new Map<string, WireRequest>();
  const extraHeaders = new Map<string, Record<string, string>>();
  const pending = new Set<Promise<unknown>>();
  const outside: string[] = [];
  const pageErrors: string[] = [];
  const consoleProblems: string[] = [];

  const noteOrigin = (url: string) => {
    const origin = url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank' ? null : new URL(url).origin;
    if (origin !== null && !allowed.has(origin) && !outside.includes(url)) outside.push(url);
  };
  // Playwright's view, independent of the DevTools recording below.
  context.on('request', (request) => noteOrigin(request.url()));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleProblems.push(`${message.type()}: ${message.text()} (${message.location().url})`);
  });

  const cdp: CDPSession = await context.newCDPSession(page);
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  cdp.on('Network.requestWillBeSent', (event: CdpRequestWillBeSent) => {
    const url = new URL(event.request.url);
    noteOrigin(event.request.url);
    const isPreflight = event.type === 'Preflight' || event.initiator.type === 'preflight';
    const recorded: WireRequest = {
      requestId: event.requestId,
      method: event.request.method,
      url: event.request.url,
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      type: isPreflight ? 'Preflight' : (event.type ?? 'Other'),
      headers: { ...lowerCase(event.request.headers), ...extraHeaders.get(event.requestId) },
      body: event.request.postData ?? null,
      status: null,
      responseHeaders: {},
      responseBody: null,
      failure: null,
      done: false,
    };
    byId.set(event.requestId, recorded); // a preflight has an id of its own
    requests.push(recorded);
    if (event.request.hasPostData && recorded.body === null) {
      // sendBeacon bodies are not in the event; ask for them.
      track(
        cdp.send('Network.getRequestPostData', { requestId: event.requestId }).then(
          (data) => (recorded.body = data.postData),
          () => undefined,
        ),
      );
    }
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (event: { requestId: string; headers: Record<string, unknown> }) => {
    // What went on the wire (Origin, fetch metadata, cookies). It can come before or after requestWillBeSent.
    const headers = lowerCase(event.headers);
    const target = byId.get(event.requestId);
    if (target) Object.assign(target.headers, headers);
    else extraHeaders.set(event.requestId, headers);
  });
  cdp.on('Network.responseReceived', (event: CdpResponseReceived) => {
    const target = byId.get(event.requestId);
    if (!target) return;
    target.status = event.response.status;
    target.responseHeaders = lowerCase(event.response.headers);
    if (target.type === 'Preflight') target.done = true;
  });
  cdp.on('Network.loadingFinished', (event: { requestId: string }) => {
    const target = byId.get(event.requestId);
    if (!target || target.done) return;
    if (target.origin === ingestOrigin && target.type !== 'Preflight') {
      track(
        cdp.send('Network.getResponseBody', { requestId: event.requestId }).then(
          (data) => (target.responseBody = data.base64Encoded ? Buffer.from(data.body, 'base64').toString('utf8') : data.body),
          () => undefined,
        ),
      );
    }
    target.done = true;
  });
  cdp.on('Network.loadingFailed', (event: CdpLoadingFailed) => {
    const target = byId.get(event.requestId);
    if (!target) return;
    const cors = event.corsErrorStatus ? ` (CORS: ${event.corsErrorStatus.corsError} ${event.corsErrorStatus.failedParameter})` : '';
    const blocked = event.blockedReason ? ` (blocked: ${event.blockedReason})` : '';
    target.failure = `${event.errorText}${cors}${blocked}`;
    target.done = true;
  });
  await cdp.send('Network.enable');

  const poll = async (what: string, done: () => boolean, timeoutMs: number, describe: () => string) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const summary = () => requests.map((r) => `${r.type} ${r.method} ${r.url} → ${r.status ?? r.failure ?? 'pending'}`).join('; ');

  await page.goto(server.url);
  return {
    context,
    page,
    requests,
    outside,
    pageErrors,
    consoleProblems,
    cspViolations: () => page.evaluate('globalThis.__cspViolations ?? []') as Promise<string[]>,
    async settled(timeoutMs = 10_000) {
      await poll('the page\'s requests to finish', () => requests.every((r) => r.done) && pending.size === 0, timeoutMs, summary);
    },
    async waitFor(what, done, timeoutMs = 15_000) {
      await poll(what, () => done(requests), timeoutMs, summary);
    },
    async close() {
      await cdp.detach().catch(() => undefined);
      await context.close();
    },
  };
}

/** One SDK's suite: Chromium, the SDK's page on its own origin, and a local stack that allows only that origin. */
export interface CrossOriginSdk {
  browser: Browser;
  server: PageServer;
  sdk: SdkStack;
  ingestOrigin: string;
  close(): Promise<void>;
}

/** Bundles `module`, serves it on a page, and starts the stack allowing exactly that page's origin. */
export async function startCrossOriginSdk(module: string, globalName: string): Promise<CrossOriginSdk> {
  const launched = launchChromium();
  launched.catch(() => undefined); // awaited (and its failure reported) below
  const script = await bundleForBrowser(module, globalName);
  // The page's port is known before the stack starts, so the ingest can allow exactly its origin; the
  // page's CSP reads the ingest's origin at request time.
  let connectTo = '';
  const server = await serveSdkPage({ script, connectTo: () => [connectTo] });
  const sdk = await startSdkStack({ allowedOrigins: [server.origin] });
  const ingestOrigin = new URL(sdk.ingestUrl).origin;
  connectTo = ingestOrigin;
  expect(ingestOrigin).not.toBe(server.origin);
  const browser = await launched;
  return {
    browser,
    server,
    sdk,
    ingestOrigin,
    async close() {
      await browser.close();
      await server.close();
      await sdk.stop();
    },
  };
}

/** What a page function that sends the test's events is given, besides its own arguments. */
export interface RunIds {
  writeKey: string;
  run: string;
  userId: string;
}

/**
 * Opens the SDK's page, runs `send` in it (it returns the SDK's anonymousId) and waits until the 4 events
 * tagged with the run id are on the wire and every request has settled. The caller closes the page.
 */
export async function sendFromPage<G, A>(
  setup: CrossOriginSdk,
  send: (globals: G, args: A & RunIds) => Promise<string>,
  args: A,
): Promise<{ sdkPage: SdkPage; runId: string; userId: string; anonymousId: string }> {
  const runId = randomUUID();
  const userId = `user-${runId.slice(0, 8)}`;
  const sdkPage = await openSdkPage(setup.browser, setup.server, setup.ingestOrigin);
  try {
    const anonymousId = await inPage(sdkPage.page, send, { ...args, writeKey: setup.sdk.writeKey, run: runId, userId });
    await sdkPage.waitFor('the 4 events on the wire', (requests) => postedEvents(requests, setup.ingestOrigin).filter((p) => taggedWith(p.event, runId)).length >= 4);
    await sdkPage.settled();
    return { sdkPage, runId, userId, anonymousId };
  } catch (error) {
    await sdkPage.close();
    throw error;
  }
}

/** Runs fn in the page (serialised, as page.evaluate does) with the page's globals and a JSON argument. */
export const inPage = <G, A, R>(page: Page, fn: (globals: G, arg: A) => R | Promise<R>, arg: A): Promise<R> =>
  page.evaluate(`(${fn.toString()})(globalThis, ${JSON.stringify(arg)})`) as Promise<R>;

/** An event as an SDK put it on the wire, with the request that carried it and that request's body. */
export interface PostedEvent {
  event: Record<string, unknown> & { messageId: string; type: string };
  request: WireRequest;
  body: Record<string, unknown>;
}

/** The events in the bodies of the (non-preflight) POSTs to the ingest: `{batch: [...]}` or a single event. */
export function postedEvents(requests: WireRequest[], ingestOrigin: string): PostedEvent[] {
  const posted: PostedEvent[] = [];
  for (const request of requests) {
    if (request.origin !== ingestOrigin || request.method !== 'POST' || request.body === null) continue;
    const body = JSON.parse(request.body) as Record<string, unknown>;
    const events = Array.isArray(body['batch']) ? (body['batch'] as PostedEvent['event'][]) : [body as PostedEvent['event']];
    for (const event of events) posted.push({ event, request, body });
  }
  return posted;
}

/** The ingest POSTs (not preflights). */
export const ingestPosts = (requests: WireRequest[], ingestOrigin: string): WireRequest[] =>
  requests.filter((r) => r.origin === ingestOrigin && r.method === 'POST');

/** Whether an event carries the run tag: a property, a trait, or a trait in context (RudderStack). */
export function taggedWith(event: Record<string, unknown>, run: string): boolean {
  const properties = event['properties'] as Record<string, unknown> | undefined;
  const traits = event['traits'] as Record<string, unknown> | undefined;
  const contextTraits = (event['context'] as { traits?: Record<string, unknown> } | undefined)?.traits;
  return properties?.['run'] === run || traits?.['run'] === run || contextTraits?.['run'] === run;
}

/**
 * What every SDK set-up must show on the wire: the page's requests all finished, none left the two
 * origins or was blocked, every request to the ingest (preflights included) was answered 2xx, each
 * preflight allowed the page's origin and the headers asked for, and each ingest response that the browser
 * keeps (not a beacon's) accepted all of its request's events.
 */
export async function expectCleanWire(sdkPage: SdkPage, ingestOrigin: string, pageOrigin: string): Promise<void> {
  const { requests } = sdkPage;
  expect(sdkPage.outside, 'requests to origins other than the page and the ingest').toEqual([]);
  expect(await sdkPage.cspViolations(), 'CSP violations').toEqual([]);
  expect(
    requests.filter((r) => r.failure !== null).map((r) => `${r.type} ${r.method} ${r.url}: ${r.failure}`),
    'failed requests',
  ).toEqual([]);
  const toIngest = requests.filter((r) => r.origin === ingestOrigin);
  expect(toIngest.length).toBeGreaterThan(0);
  for (const request of toIngest) {
    const label = `${request.type} ${request.method} ${request.path} → ${request.status} ${request.responseBody ?? ''}`;
    expect(request.status, label).toBeGreaterThanOrEqual(200);
    expect(request.status, label).toBeLessThan(300);
    expect(request.headers['origin'], label).toBe(pageOrigin);
    if (request.type === 'Preflight') {
      expect(request.responseHeaders['access-control-allow-origin'], label).toBe(pageOrigin);
      const asked = (request.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
      const allowedHeaders = (request.responseHeaders['access-control-allow-headers'] ?? '').toLowerCase().split(',').map((h) => h.trim());
      for (const header of asked) expect(allowedHeaders, `${label}: header ${header}`).toContain(header.toLowerCase());
    } else if (request.method === 'GET') {
      // The settings the SDK fetched first (Segment's project settings, RudderStack's source config): from the
      // ingest, naming it, with nothing left to load from elsewhere.
      const settings = parseJsonOrNull(request.responseBody);
      expect(settings, label).toEqual(expect.objectContaining(request.path.startsWith('/sourceConfig') ? { source: expect.objectContaining({ enabled: true, destinations: [] }) } : { integrations: { 'Segment.io': expect.objectContaining({ apiHost: `${new URL(ingestOrigin).host}/v1`, protocol: 'http' }) } }));
      continue;
    } else {
      expect(request.body, `${label}: the posted body could not be read`).not.toBeNull();
    }
    if (request.type !== 'Preflight' && request.type !== 'Ping') {
      // (Chromium keeps no response body of a sendBeacon; what the ingest made of those events shows on events-enriched.)
      const sent = postedEvents([request], ingestOrigin).length;
      const answer = parseJsonOrNull(request.responseBody);
      expect(answer, label).toMatchObject({ accepted: sent, rejected: [] });
    }
  }
}

const parseJsonOrNull = (text: string | null): unknown => {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return null;
  }
};

/** The SDK's own time of an event, by the field the SDK sets it in. */
export type EventTimeField = 'timestamp' | 'originalTimestamp';

/**
 * Every posted event is on events-enriched exactly once (the enriched messageIds are the posted ones, no
 * more, no repeats), as the same event: type, ids, name, properties, traits and time.
 */
export function expectEnrichedExactlyOnce(posted: PostedEvent[], enriched: EnrichedEvent[], timeField: EventTimeField): void {
  const sentIds = [...new Set(posted.map((p) => p.event.messageId))].sort();
  expect(sentIds.length).toBe(posted.length); // the SDK sent each event once (no retries were needed)
  expect(enriched.map((e) => e.messageId).sort()).toEqual(sentIds);

  for (const { event: sent } of posted) {
    const got = enriched.find((e) => e.messageId === sent.messageId)!;
    const label = `${sent.type} ${sent.messageId}`;
    expect(got.type, label).toBe(sent.type);
    expect(got.anonymousId, label).toBe(sent['anonymousId']);
    const userId = sent['userId'];
    if (typeof userId === 'string' && userId !== '') expect(got.userId, label).toBe(userId);
    else expect(got, `${label}: sent userId ${JSON.stringify(userId)}`).not.toHaveProperty('userId');
    if (sent.type === 'track') expect(got.event, label).toBe(sent['event']);
    if (sent.type === 'page') expect(got.name, label).toBe(sent['name']);
    if (sent['properties'] !== undefined) expect(got.properties, label).toMatchObject(sent['properties'] as object);
    if (sent.type === 'identify') {
      // RudderStack puts identify traits only in context.traits; they must be queryable as traits.
      const traits = (sent['traits'] as object | undefined) ?? (sent['context'] as { traits?: object } | undefined)?.traits;
      expect(traits, label).toBeDefined();
      expect(got.traits, label).toEqual(expect.objectContaining(traits!));
    }
    const sdkTime = Date.parse(String(sent[timeField]));
    expect(Number.isNaN(sdkTime), `${label}: ${timeField} ${String(sent[timeField])}`).toBe(false);
    expect(Date.parse(String(got.originalTimestamp)), `${label}: originalTimestamp`).toBe(sdkTime);
    expect(Math.abs(Date.parse(got.timestamp) - sdkTime), `${label}: timestamp ${got.timestamp} vs ${timeField} ${String(sent[timeField])}`).toBeLessThanOrEqual(2_000);
  }
}
