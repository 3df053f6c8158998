// Compiled validators for the Segment schemas. Compiled once at module load (cold start), reused per event.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { EVENT_TYPES, isEventType, type SchemaName } from './catalog.js';
// Imported, not read from disk, so a bundler inlines them into the Lambda artifact.
import aggregates from './aggregates/1-0-0.json' with { type: 'json' };
import anomalies from './anomalies/1-0-0.json' with { type: 'json' };
import badRow from './bad-row/1-0-0.json' with { type: 'json' };
import enriched from './enriched/1-0-0.json' with { type: 'json' };
import identities from './identities/1-0-0.json' with { type: 'json' };
import alias from './segment/alias/1-0-0.json' with { type: 'json' };
import batch from './segment/batch/1-0-0.json' with { type: 'json' };
import common from './segment/common/1-0-0.json' with { type: 'json' };
import envelope from './segment/envelope/1-0-0.json' with { type: 'json' };
import group from './segment/group/1-0-0.json' with { type: 'json' };
import identify from './segment/identify/1-0-0.json' with { type: 'json' };
import page from './segment/page/1-0-0.json' with { type: 'json' };
import screen from './segment/screen/1-0-0.json' with { type: 'json' };
import track from './segment/track/1-0-0.json' with { type: 'json' };
import type { AggregateRow, AnomalyRow, BadRow, BatchRequest, EnrichedEvent, IdentityRow, SegmentEvent } from './types.generated.js';

export * from './catalog.js';
export type * from './types.generated.js';

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: string };

const addFormats = addFormatsPlugin as unknown as typeof addFormatsPlugin.default;
const ajv = new Ajv({ allErrors: false, strict: true, strictTypes: false, strictRequired: false });
addFormats(ajv, ['date-time']);

const SCHEMAS: Record<SchemaName, { $id: string }> = { common, envelope, batch, track, page, screen, identify, group, alias };
for (const schema of Object.values(SCHEMAS)) ajv.addSchema(schema);
ajv.addSchema(enriched);
ajv.addSchema(badRow);
ajv.addSchema(aggregates);
ajv.addSchema(anomalies);
ajv.addSchema(identities);

const compiled = (name: SchemaName): ValidateFunction => {
  const validate = ajv.getSchema(SCHEMAS[name].$id);
  if (!validate) throw new Error(`schema ${name} did not compile`);
  return validate;
};

const envelopeValidator = compiled('envelope');
const batchValidator = compiled('batch');
const eventValidators = Object.fromEntries(EVENT_TYPES.map((t) => [t, compiled(t)])) as Record<
  (typeof EVENT_TYPES)[number],
  ValidateFunction
>;

// The pipeline's own outputs: compiled on first use, since only tests and tools check them per record.
let enrichedValidator: ValidateFunction | undefined;
let badRowValidator: ValidateFunction | undefined;
let aggregateValidator: ValidateFunction | undefined;
let anomalyValidator: ValidateFunction | undefined;
let identityValidator: ValidateFunction | undefined;
const pipelineValidator = (schema: { $id: string }): ValidateFunction => {
  const validate = ajv.getSchema(schema.$id);
  if (!validate) throw new Error(`schema ${schema.$id} did not compile`);
  return validate;
};

/** One readable line per schema violation, e.g. `/userId must be string`. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  // An anyOf of `required` branches reads better as one line than as each branch's failure.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const inBranch = (e: ErrorObject) => anyOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`));
  return errors
    .filter((e) => !inBranch(e))
    .map((e) => {
      const where = e.instancePath || '(event)';
      if (e.keyword === 'anyOf') {
        const missing = errors.filter((b) => inBranch(b) && b.keyword === 'required').map((b) => b.params['missingProperty']);
        return missing.length ? `${where} needs one of ${missing.join(', ')}` : `${where} ${e.message ?? 'is invalid'}`;
      }
      if (e.keyword === 'enum') return `${where} ${e.message}: ${(e.params['allowedValues'] as unknown[]).join(', ')}`;
      return `${where} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

function check<T>(validate: ValidateFunction, value: unknown): Validation<T> {
  if (validate(value)) return { ok: true, value: value as T };
  return { ok: false, reason: describeErrors(validate.errors) };
}

/** The fields ingest needs to route, dedup, partition and time an event. */
export const validateEnvelope = (event: unknown): Validation<SegmentEvent> => check(envelopeValidator, event);

/** The body of POST /v1/batch, without looking inside the events. */
export const validateBatchRequest = (body: unknown): Validation<BatchRequest> => check(batchValidator, body);

/** The full schema of the event's type: the check the enrich stage applies. */
export function validateEvent(event: unknown): Validation<SegmentEvent> {
  const type = (event as { type?: unknown } | null)?.type;
  if (!isEventType(type)) return check(envelopeValidator, event);
  return check(eventValidators[type], event);
}

/** What the enrich stage writes to events-enriched (schemas/enriched). */
export const validateEnrichedEvent = (event: unknown): Validation<EnrichedEvent> =>
  check((enrichedValidator ??= pipelineValidator(enriched)), event);

/** One line of a bad-rows object (schemas/bad-row). */
export const validateBadRow = (row: unknown): Validation<BadRow> => check((badRowValidator ??= pipelineValidator(badRow)), row);

/** One row of the Flink job's aggregates stream (schemas/aggregates). */
export const validateAggregateRow = (row: unknown): Validation<AggregateRow> =>
  check((aggregateValidator ??= pipelineValidator(aggregates)), row);

/** One row of the Flink job's anomalies stream (schemas/anomalies). */
export const validateAnomalyRow = (row: unknown): Validation<AnomalyRow> => check((anomalyValidator ??= pipelineValidator(anomalies)), row);

/** One row of the identities delivery stream (schemas/identities). */
export const validateIdentityRow = (row: unknown): Validation<IdentityRow> => check((identityValidator ??= pipelineValidator(identities)), row);
