// Builds the browser SDK with esbuild: tracker/dist/tracker.min.js (one IIFE file that sets
// window.clickstream, for a <script> tag) and tracker/dist/tracker.esm.js (for bundlers).
// `npm run build:tracker`; the demo server and the size test call buildTracker() in memory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

export const TRACKER_DIR = dirname(fileURLToPath(import.meta.url));
export const DIST_DIR = join(TRACKER_DIR, 'dist');
/** The budget for what a page downloads: the IIFE, gzipped. */
export const MAX_GZIP_BYTES = 5 * 1024;

export interface TrackerBuild {
  /** tracker.min.js: IIFE, exposes window.clickstream. */
  iife: string;
  /** tracker.esm.js: the same API as ES module exports. */
  esm: string;
}

const common: BuildOptions = {
  entryPoints: [join(TRACKER_DIR, 'src', 'index.ts')],
  bundle: true,
  minify: true,
  // Browsers with fetch keepalive and ?. / ?? (Chrome 80, Safari 14, Firefox 74); class fields are lowered.
  target: ['es2020'],
  platform: 'browser',
  legalComments: 'none',
  write: false,
  logLevel: 'silent',
};

export async function buildTracker({ write = false } = {}): Promise<TrackerBuild> {
  const [iife, esm] = await Promise.all([
    build({ ...common, format: 'iife', globalName: 'clickstream' }),
    build({ ...common, format: 'esm' }),
  ]);
  const result = { iife: iife.outputFiles![0]!.text, esm: esm.outputFiles![0]!.text };
  if (write) {
    mkdirSync(DIST_DIR, { recursive: true });
    writeFileSync(join(DIST_DIR, 'tracker.min.js'), result.iife);
    writeFileSync(join(DIST_DIR, 'tracker.esm.js'), result.esm);
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { gzipSync } = await import('node:zlib');
  const { iife } = await buildTracker({ write: true });
  const gzipped = gzipSync(iife, { level: 9 }).byteLength;
  console.log(`tracker/dist/tracker.min.js: ${iife.length} bytes, ${gzipped} bytes gzipped (budget ${MAX_GZIP_BYTES})`);
  if (gzipped > MAX_GZIP_BYTES) process.exit(1);
}
