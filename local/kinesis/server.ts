// The Kinesis emulator process (started by ./kinesis-emulator.ts): kinesalite, whose streams live in
// LevelDB under the data dir. PutRecords answers only after LevelDB has appended the records to its log,
// so a record that was acknowledged survives a kill -9 of this process or of the whole `npm start`, and
// LevelDB replays its log at the next open: no state file is ever half-written.
//
// kinesalite speaks the Kinesis API of its time. A thin adapter in front of it takes what the stack and
// Flink's Kinesis connector send today:
// - StreamARN instead of StreamName (every call of the Flink connector 5.x): the ARN's stream name;
// - CreateStream with StreamModeDetails ON_DEMAND: a stream with the shard count given, or 4.
//
// kinesalite opens LevelDB with its defaults, among them a table cache of 1,000 files. The streams keep 24
// hours of records, about 12 MB of table files a minute at 200 events/s, and each file in the cache stayed
// open and mapped, with LevelDB's own memory for it: the process grew with the data (+1 MB/min in the soak).
// The store is opened with a cache of 100 files instead (LEVELDB_OPTIONS); the consumers read the newest.
//
// The process ends when its parent does: its stdin is a pipe from the parent, which closes whatever way
// the parent ends, kill -9 included. So no orphan keeps the port or LevelDB's lock.
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { writeFileSync, rmSync } from 'node:fs';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite') as (options: Record<string, unknown>) => Server;

/** Options kinesalite's LevelDB is opened with, over kinesalite's own (see above). */
export const LEVELDB_OPTIONS = { maxOpenFiles: 100 } as const;

/** Makes the leveldown that kinesalite loads open every store with `options` over the ones it asks for. */
export function openKinesaliteStoresWith(options: Record<string, unknown>): void {
  type Open = (this: unknown, openOptions: Record<string, unknown>, callback: unknown) => void;
  const { prototype } = createRequire(require.resolve('kinesalite'))('leveldown') as { prototype: { _open: Open } };
  const open = prototype._open;
  prototype._open = function (openOptions, callback) {
    open.call(this, { ...openOptions, ...options }, callback);
  };
}

const ON_DEMAND_SHARDS = 4;

/** The request JSON with StreamARN and ON_DEMAND mapped to what kinesalite knows; undefined when nothing changes. */
export function adaptRequest(target: string, body: Record<string, unknown>): Record<string, unknown> | undefined {
  let changed = false;
  const adapted = { ...body };
  if (typeof adapted['StreamARN'] === 'string') {
    adapted['StreamName'] ??= adapted['StreamARN'].slice(adapted['StreamARN'].lastIndexOf('/') + 1);
    delete adapted['StreamARN'];
    changed = true;
  }
  if (target.endsWith('.CreateStream') && adapted['StreamModeDetails'] !== undefined) {
    adapted['ShardCount'] ??= ON_DEMAND_SHARDS;
    delete adapted['StreamModeDetails'];
    changed = true;
  }
  return changed ? adapted : undefined;
}

function main(): void {
  const args = new Map(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=', 2) as [string, string]));
  const port = Number(args.get('port'));
  const path = args.get('path');
  const pidFile = args.get('pid-file');
  if (!Number.isInteger(port) || !path || !pidFile) {
    console.error('usage: kinesis-server --port=<n> --path=<leveldb dir> --pid-file=<file>');
    process.exit(2);
  }

  openKinesaliteStoresWith(LEVELDB_OPTIONS);
  const server = kinesalite({ path, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1_000 });
  const [kinesaliteHandler] = server.listeners('request') as [(req: IncomingMessage, res: ServerResponse) => void];
  server.removeAllListeners('request');
  // Fault injection for the fault suite: POST /_local/faults {"throttleShare": 0.9} makes that share of
  // PutRecord(s) calls fail with ProvisionedThroughputExceededException, as a hot shard does on AWS.
  let throttleShare = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/_local/faults') return setFaults(req, res);
    const target = String(req.headers['x-amz-target'] ?? '');
    if (throttleShare > 0 && /\.PutRecords?$/.test(target) && Math.random() < throttleShare) return throttle(req, res);
    const contentType = req.headers['content-type'] ?? '';
    // CBOR bodies go through as they are; every client of the stack sends JSON (Flink: aws.cborEnabled=false).
    if (!contentType.startsWith('application/x-amz-json')) return kinesaliteHandler(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let forwarded = raw;
      try {
        const adapted = adaptRequest(target, JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
        if (adapted) forwarded = Buffer.from(JSON.stringify(adapted));
      } catch {
        // Not JSON: kinesalite answers it with its own SerializationException.
      }
      const replay = Object.assign(new PassThrough(), { headers: req.headers, method: req.method, url: req.url });
      kinesaliteHandler(replay as unknown as IncomingMessage, res);
      replay.end(forwarded);
    });
  });

  function setFaults(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const faults = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { throttleShare?: number };
      throttleShare = Math.min(1, Math.max(0, Number(faults.throttleShare ?? 0)));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ throttleShare }));
    });
  }

  function throttle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ProvisionedThroughputExceededException' });
      res.end(JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard (injected by /_local/faults)' }));
    });
  }

  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    // kinesalite's close closes LevelDB, then the HTTP server; idle keep-alive sockets must not hold it open.
    server.close(() => {
      rmSync(pidFile, { force: true });
      process.exit(code);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(code), 5_000).unref();
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  // The parent holds the other end of stdin: end of input means the parent is gone.
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();

  server.once('error', (error) => {
    console.error(`kinesis-server: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    writeFileSync(pidFile, `${process.pid}\n`);
    console.log(`kinesis-server listening on 127.0.0.1:${port}`);
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) main();
