// What a page downloads for the browser tracker: tracker.min.js, minified and gzipped (level 9, as a
// CDN would serve it), against the 5 KB budget the size test also enforces.
import { gzipSync } from 'node:zlib';
import { buildTracker, MAX_GZIP_BYTES } from '../tracker/build.js';
import { figure, type Suite } from './harness.js';

export const trackerSize: Suite = {
  name: 'tracker-size',
  async run() {
    const { iife, esm } = await buildTracker();
    const gzipped = gzipSync(iife, { level: 9 }).byteLength;
    return {
      'tracker.min_js': figure(Buffer.byteLength(iife) / 1024, 'KB'),
      'tracker.min_js_gzip': figure(gzipped / 1024, 'KB', { target: `≤ ${MAX_GZIP_BYTES / 1024} KB`, met: gzipped <= MAX_GZIP_BYTES }),
      'tracker.esm_js_gzip': figure(gzipSync(esm, { level: 9 }).byteLength / 1024, 'KB'),
    };
  },
};
