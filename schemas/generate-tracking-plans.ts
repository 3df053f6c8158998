// Writes schemas/tracking-plans.generated.json, the tracking plans in force (schemas/tracking-plans.ts), which the
// enrich function imports. Run with `npm run gen:plans` (`npm run plan` runs it after writing drafts);
// test/unit/schemas/tracking-plans.test.ts fails when the file is stale.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readTrackingPlans, TRACKING_PLANS_FILE } from './tracking-plans.js';

export const generateTrackingPlans = (root?: string): string => `${JSON.stringify(readTrackingPlans(root), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(TRACKING_PLANS_FILE, generateTrackingPlans());
  console.log(`wrote ${TRACKING_PLANS_FILE}`);
}
