// What the operations on the data (`npm run recover`, `npm run erase`) need of a running `npm start`: its
// endpoints file, read and checked, and the handlers' own SDK client builders pointed at its emulators.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { parseArgs } from 'node:util';
import { localAwsEnvironment } from '../local/aws-env.js';
import type { LocalEndpoints } from '../local/stack.js';
import { HELP_OPTION, parseCommandLine, type CliIo } from './command-line.js';

export type { CliIo };

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
  Object.assign(process.env, localAwsEnvironment({ kinesis: endpoints.kinesis, s3: endpoints.s3, dynamodb: endpoints.dynamodb, firehose: endpoints.firehose }));
  return endpoints as RunningStack;
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];
export type OperationValues = Record<string, string | boolean | (string | boolean)[] | undefined> & { json: boolean; 'endpoints-file': string };

/**
 * The command line of an operation on the data: its own options, plus --json, --endpoints-file (default
 * .local/endpoints.json) and --help. Either the values, or the exit code after printing the usage (2 on a
 * wrong option, 0 for --help).
 */
export function operationArgs(argv: string[], options: Options, usage: string, io: CliIo, repositoryRoot: string): { values: OperationValues } | { exit: number } {
  const result = parseCommandLine(
    {
      args: argv,
      strict: true,
      options: {
        ...options,
        json: { type: 'boolean', default: false },
        'endpoints-file': { type: 'string', default: join(repositoryRoot, '.local', 'endpoints.json') },
        ...HELP_OPTION,
      },
    },
    usage,
    io,
  );
  return 'exit' in result ? result : { values: result.parsed.values as OperationValues };
}
