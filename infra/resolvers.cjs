/* global module */
'use strict';
// Small value transformations that the Serverless variable syntax cannot express.
// Loaded by osls through `${file(./infra/resolvers.cjs):<name>}` (CommonJS because osls
// `require`s it; the package itself is "type": "module", hence the .cjs suffix).
// Each export receives osls' `{ resolveVariable }` and must stay offline: no AWS calls.

/** `allowedOrigins` param ("*" or "https://a.example,https://b.example") as the array httpApi.cors wants. */
async function allowedOriginsList({ resolveVariable }) {
  const raw = String(await resolveVariable('param:allowedOrigins'));
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  if (origins.length === 0) {
    throw new Error('param allowedOrigins is empty: use "*" or a comma-separated list of origins');
  }
  return origins;
}

/**
 * Resource part of an SSM parameter ARN ("parameter/clickstream/dev/write-keys") for the
 * `writeKeysParameter` param. SSM ARNs drop the leading "/" of hierarchical names, so
 * "/a/b" and "a" map to "parameter/a/b" and "parameter/a".
 */
async function writeKeysParameterArnResource({ resolveVariable }) {
  const name = String(await resolveVariable('param:writeKeysParameter')).trim();
  if (name.length === 0 || name.includes('*')) {
    throw new Error(`param writeKeysParameter must be one SSM parameter name, got "${name}"`);
  }
  return `parameter/${name.replace(/^\/+/, '')}`;
}

/** A Kinesis stream mode param, validated so a typo fails at package time instead of mid-deploy. */
async function streamMode(resolveVariable, paramName) {
  const mode = String(await resolveVariable(`param:${paramName}`)).trim().toUpperCase();
  if (mode !== 'ON_DEMAND' && mode !== 'PROVISIONED') {
    throw new Error(`param ${paramName} must be ON_DEMAND or PROVISIONED, got "${mode}"`);
  }
  return mode;
}

/** `rawStreamMode` param (events-raw). */
const rawStreamMode = ({ resolveVariable }) => streamMode(resolveVariable, 'rawStreamMode');

/** `enrichedStreamMode` param (events-enriched; defaults to the raw stream's mode). */
const enrichedStreamMode = ({ resolveVariable }) => streamMode(resolveVariable, 'enrichedStreamMode');

module.exports = { allowedOriginsList, writeKeysParameterArnResource, rawStreamMode, enrichedStreamMode };
