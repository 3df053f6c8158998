// The dashboard's HTTP server: the page (dashboard/web, bundled with esbuild at start together with uPlot from
// node_modules, so it is never stale and needs no CDN), a JSON snapshot at /api/snapshot, and the same
// snapshot pushed as server-sent events at /events. One snapshot is built per push tick and sent to every
// open page; building it reads only cached figures (see monitor.ts).
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { listen } from '../local/ports.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { PipelineMonitor } from './monitor.js';

export const DASHBOARD_DIR = dirname(fileURLToPath(import.meta.url));
const WEB_DIR = join(DASHBOARD_DIR, 'web');
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

export interface DashboardServerOptions {
  monitor: Pick<PipelineMonitor, 'snapshot'>;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /** How often /events pushes a snapshot (default 1.5 s). */
  pushIntervalMs?: number;
}

export interface DashboardServer {
  url: string;
  port: number;
  /** Open /events streams. */
  readonly clients: number;
  close(): Promise<void>;
}

/** The page's script: dashboard/web/app.ts and uPlot, one minified ES2020 file. */
export async function buildDashboardScript(): Promise<string> {
  const result = await build({
    entryPoints: [join(WEB_DIR, 'app.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const [html, css, uplotCss, script] = await Promise.all([
    readFile(join(WEB_DIR, 'index.html'), 'utf8'),
    readFile(join(WEB_DIR, 'style.css'), 'utf8'),
    readFile(join(UPLOT_DIST, 'uPlot.min.css'), 'utf8'),
    buildDashboardScript(),
  ]);
  const assets: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: html },
    '/index.html': { type: 'text/html; charset=utf-8', body: html },
    '/style.css': { type: 'text/css; charset=utf-8', body: css },
    '/vendor/uPlot.min.css': { type: 'text/css; charset=utf-8', body: uplotCss },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: script },
  };
  const streams = new Set<ServerResponse>();

  const snapshotJson = () => JSON.stringify(options.monitor.snapshot());

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://dashboard.local').pathname;
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (path === '/api/snapshot') {
      try {
        return send(200, 'application/json; charset=utf-8', snapshotJson());
      } catch (error) {
        return send(500, 'application/json; charset=utf-8', JSON.stringify({ message: (error as Error).message }));
      }
    }
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      // The browser reconnects by itself after 2 s if the stream drops (e.g. npm start restarted).
      response.write('retry: 2000\n\n');
      response.write(`data: ${snapshotJson()}\n\n`);
      streams.add(response);
      request.on('close', () => streams.delete(response));
      return;
    }
    const asset = assets[path];
    if (asset) return send(200, asset.type, asset.body);
    return send(404, 'text/plain', 'not found\n');
  });

  const pusher = setInterval(() => {
    if (streams.size === 0) return;
    let message: string;
    try {
      message = `data: ${snapshotJson()}\n\n`;
    } catch (error) {
      message = `event: problem\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`;
    }
    for (const stream of streams) stream.write(message);
  }, options.pushIntervalMs ?? 1_500);
  pusher.unref();

  const { port, url } = await listen(server, options.port ?? 0, options.hostname);
  return {
    url,
    port,
    get clients() {
      return streams.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(pusher);
        for (const stream of streams) stream.end();
        streams.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
