// A tiny static server for the demo shop: the page, the tracker (built in memory at start, so it is
// never stale) and /config.js, which points the page at an ingest API. `npm start` mounts it; the
// browser test starts it on a free port.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { listen } from '../ports.js';
import { extname, join, normalize, sep } from 'node:path';
import { buildTracker, TRACKER_DIR } from '../../tracker/build.js';

export interface TrackerDemoOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** The ingest API origin the page sends to, e.g. http://127.0.0.1:4000. */
  ingestUrl: string;
  writeKey: string;
}

export interface TrackerDemoServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEMO_DIR = join(TRACKER_DIR, 'demo');
const MEDIA_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export async function serveTrackerDemo(options: TrackerDemoOptions): Promise<TrackerDemoServer> {
  const { iife, esm } = await buildTracker();
  const config = `window.CLICKSTREAM_CONFIG = ${JSON.stringify({ host: options.ingestUrl, writeKey: options.writeKey })};\n`;
  const generated: Record<string, string> = { '/tracker.min.js': iife, '/tracker.esm.js': esm, '/config.js': config };

  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://demo.local').pathname);
    const send = (status: number, type: string, body: string | Buffer) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    const built = generated[path];
    if (built !== undefined) return send(200, MEDIA_TYPES['.js']!, built);
    // Paths without an extension are the shop's client-side routes: all of them get the page.
    const file = extname(path) === '' ? join(DEMO_DIR, 'index.html') : normalize(join(DEMO_DIR, path));
    if (!file.startsWith(DEMO_DIR + sep)) return send(404, 'text/plain', 'not found\n');
    readFile(file).then(
      (body) => send(200, MEDIA_TYPES[extname(file)] ?? 'application/octet-stream', body),
      () => send(404, 'text/plain', 'not found\n'),
    );
  });
  const { port, url } = await listen(server, options.port ?? 0, options.hostname);
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
