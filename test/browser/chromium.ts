// Debian's chromium driven by playwright-core (which downloads no browser). In CI the browser is a
// requirement (.ci/run installs it), so its absence fails the suite; on a laptop the suite is skipped
// with a note saying how to get it.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const inCi = !['', '0', 'false'].includes((process.env['CI'] ?? '').toLowerCase());

/** True when the browser suites should be skipped: no chromium, and not in CI. */
export const skipWithoutChromium = (): boolean => {
  if (existsSync(CHROMIUM_PATH) || inCi) return false;
  console.warn(`[browser tests] skipped: no chromium at ${CHROMIUM_PATH}. Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH.`);
  return true;
};

// The closed network refuses Chromium's own background connections; these flags keep it from trying.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless chromium; Playwright gives it a fresh temporary --user-data-dir of its own. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`chromium is required in CI but missing at ${CHROMIUM_PATH}; .ci/run's "Browser (Debian chromium)" section installs it`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
}
