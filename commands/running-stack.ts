// What the operations on the data (`npm run recover`, `npm run erase`) need of a running `npm start`: its
// endpoints file, read and checked, and the handlers' own SDK client builders pointed at its emulators.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { localAwsEnvironment } from '../local/aws-env.js';
import type { LocalEndpoints } from '../local/stack.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export type RunningStack = LocalEndpoints & { s3: string; lakeBucket: string };

/** The running stack's endpoints, or undefined after telling the person why (`purpose`: what needs it). */
export function runningStack(endpointsFile: string, io: CliIo, purpose: string): RunningStack | undefined {
  const file = resolve(endpointsFile);
  if (!existsSync(file)) {
    io.stderr(`No running stack: ${file} does not exist. Start it with npm start; ${purpose}.\n`);
    return undefined;
  }
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
  if (!endpoints.s3 || !endpoints.lakeBucket) {
    io.stderr(`${file} names no S3 endpoint or lake bucket.\n`);
    return undefined;
  }
  // The handlers' own client builders read the standard AWS_ENDPOINT_URL_<SERVICE> variables.
  Object.assign(process.env, localAwsEnvironment({ kinesis: endpoints.kinesis, s3: endpoints.s3, dynamodb: endpoints.dynamodb }));
  return endpoints as RunningStack;
}
