// The tracker is what every page of a customer's site downloads: its gzipped size has a budget.
import { gzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { buildTracker, MAX_GZIP_BYTES } from '../../../tracker/build.js';

it(`tracker.min.js stays under ${MAX_GZIP_BYTES} bytes gzipped and exposes window.clickstream`, async () => {
  const { iife, esm } = await buildTracker();

  const gzipped = gzipSync(iife, { level: 9 }).byteLength;

  expect(gzipped).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  expect(iife).toMatch(/^"use strict";var clickstream=/);
  expect(esm).toMatch(/export\{/);
  // Dependency-free: nothing but the SDK's own code is bundled.
  expect(iife).not.toMatch(/node_modules|require\(/);
});
