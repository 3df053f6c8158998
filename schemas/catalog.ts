// Where the schemas live and which versions are current: the one list every consumer of the schemas reads.
import { fileURLToPath } from 'node:url';

export const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const SCHEMA_ROOT = fileURLToPath(new URL('.', import.meta.url));
export const SCHEMA_DIR = fileURLToPath(new URL('./segment', import.meta.url));
export const SCHEMA_VERSION = '1-0-0';

export type SchemaName = 'common' | 'envelope' | 'batch' | EventType;

export const schemaPath = (name: SchemaName, version = SCHEMA_VERSION): string => `${SCHEMA_DIR}/${name}/${version}.json`;

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);

/** What the pipeline itself produces, versioned beside the Segment schemas: schemas/<name>/<version>.json. */
export const PIPELINE_SCHEMAS = ['enriched', 'bad-row', 'recovered-bad-row'] as const;
export type PipelineSchemaName = (typeof PIPELINE_SCHEMAS)[number];

export const pipelineSchemaPath = (name: PipelineSchemaName, version = SCHEMA_VERSION): string =>
  fileURLToPath(new URL(`./${name}/${version}.json`, import.meta.url));
