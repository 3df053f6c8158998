// Tracking plans: what each event's properties (and identify's traits) must look like, as JSON Schemas kept
// beside the pipeline's own schemas and checked at enrich (functions/enrich/tracking-plan.ts).
//   schemas/events/<slug>/<version>.json      a track event's `properties`; its `title` is the event name
//   schemas/traits/identify/<version>.json    identify's `traits`
// The highest SchemaVer (MODEL-REVISION-ADDITION) of a folder is the plan in force; earlier ones stay as history.
// `x-violation` says what a violation does: "flag" (the default: the event passes, with
// enrichment.plan_violations) or "reject" (a bad row of type tracking_plan_violation, replayable after a fix).
// The Lambda cannot read a folder it was not bundled with, so `npm run gen:plans` writes every plan in force
// into schemas/tracking-plans.generated.json, which the enrich function imports; a test keeps it in sync.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EVENT_PLANS_DIR = fileURLToPath(new URL('./events', import.meta.url));
export const TRAITS_PLAN_DIR = fileURLToPath(new URL('./traits/identify', import.meta.url));
export const TRACKING_PLANS_FILE = fileURLToPath(new URL('./tracking-plans.generated.json', import.meta.url));

export type ViolationAction = 'flag' | 'reject';

export interface TrackingPlan {
  /** The track event's name, or "identify" for the traits plan. */
  name: string;
  version: string;
  /** Where it came from, relative to schemas/. */
  file: string;
  action: ViolationAction;
  /** The JSON Schema of `properties` (track) or `traits` (identify). */
  schema: Record<string, unknown>;
}

export interface TrackingPlansDocument {
  events: TrackingPlan[];
  identify: TrackingPlan | null;
}

const SCHEMAVER = /^(\d+)-(\d+)-(\d+)\.json$/;

/** The highest SchemaVer file of a folder, or undefined when it has none. */
function latestVersion(dir: string): { version: string; file: string } | undefined {
  const versions = readdirSync(dir)
    .map((f) => ({ f, m: SCHEMAVER.exec(f) }))
    .filter((v): v is { f: string; m: RegExpExecArray } => v.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]) || Number(b.m[2]) - Number(a.m[2]) || Number(b.m[3]) - Number(a.m[3]));
  const top = versions[0];
  return top ? { version: top.f.slice(0, -'.json'.length), file: join(dir, top.f) } : undefined;
}

function readPlan(path: string, version: string, name: string | undefined, relative: string): TrackingPlan {
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const title = name ?? schema['title'];
  if (typeof title !== 'string' || title === '') throw new Error(`${relative}: a tracking plan needs a "title", the event's name`);
  const action = schema['x-violation'] ?? 'flag';
  if (action !== 'flag' && action !== 'reject') throw new Error(`${relative}: "x-violation" must be "flag" or "reject", not ${JSON.stringify(action)}`);
  if (schema['type'] !== 'object') throw new Error(`${relative}: a tracking plan describes an object ("type": "object")`);
  return { name: title, version, file: relative, action, schema };
}

/** Every plan in force under `root` (schemas/ by default), events sorted by name. */
export function readTrackingPlans(root = fileURLToPath(new URL('.', import.meta.url))): TrackingPlansDocument {
  const eventsDir = join(root, 'events');
  const events: TrackingPlan[] = [];
  if (existsSync(eventsDir)) {
    for (const slug of readdirSync(eventsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      const latest = latestVersion(join(eventsDir, slug));
      if (latest) events.push(readPlan(latest.file, latest.version, undefined, `events/${slug}/${latest.version}.json`));
    }
  }
  const seen = new Map<string, string>();
  for (const plan of events) {
    const other = seen.get(plan.name);
    if (other) throw new Error(`two tracking plans for "${plan.name}": ${other} and ${plan.file}`);
    seen.set(plan.name, plan.file);
  }
  const traitsDir = join(root, 'traits', 'identify');
  const traits = existsSync(traitsDir) ? latestVersion(traitsDir) : undefined;
  return {
    events: events.sort((a, b) => a.name.localeCompare(b.name)),
    identify: traits ? readPlan(traits.file, traits.version, 'identify', `traits/identify/${traits.version}.json`) : null,
  };
}

/** A folder name for an event: lower case, runs of other characters as one dash ("Order Completed" → order-completed). */
export const planSlug = (eventName: string): string =>
  eventName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'event';
