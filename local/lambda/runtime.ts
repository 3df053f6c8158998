// The one local Lambda runtime: the gateway, the event source mappings and the local Firehose all call the
// REAL handler through it. It loads a handler from its serverless.yml `handler:` path, builds Lambda's
// context (deadline, names, ARN, memory) and races the call against the function's timeout.
// Deviation: a timed-out handler cannot be frozen in-process, so it runs on in the background; the caller
// is told at the deadline, as Lambda's caller would be.
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../aws-env.js';

/** What the runtime needs of a function definition (local/template/functions.ts has them all). */
export interface LambdaFunctionConfig {
  functionName: string;
  timeoutSeconds: number;
  memorySizeMb: number;
}

export type LambdaHandler<E = never> = (event: E, context: Context) => unknown;

/** The function ran past its timeout; Lambda's message is "Task timed out after 3.00 seconds". */
export class LambdaTimeoutError extends Error {
  override name = 'LambdaTimeoutError';
  constructor(readonly timeoutSeconds: number) {
    super(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
  }
}

export const functionArn = (functionName: string): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;

/** Lambda's context object for one invocation that must end by `deadline` (epoch ms). */
export function lambdaContext(lambda: LambdaFunctionConfig, deadline: number, awsRequestId: string = randomUUID()): Context {
  const callbackStyleUnsupported = () => {
    throw new Error('context.done/succeed/fail are not supported: return a value or a promise from the handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: lambda.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(lambda.functionName),
    memoryLimitInMB: String(lambda.memorySizeMb),
    awsRequestId,
    logGroupName: `/aws/lambda/${lambda.functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]local`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: callbackStyleUnsupported,
    fail: callbackStyleUnsupported,
    succeed: callbackStyleUnsupported,
  };
}

/**
 * One synchronous invocation: resolves with what the handler returned, rejects with what it threw, or with
 * LambdaTimeoutError at the deadline. `timeoutSeconds` replaces the function's own (tests use short ones).
 */
export async function invokeLambda<E>(
  lambda: LambdaFunctionConfig,
  handler: LambdaHandler<E>,
  event: E,
  options: { timeoutSeconds?: number; context?: (context: Context) => void } = {},
): Promise<unknown> {
  const timeoutSeconds = options.timeoutSeconds ?? lambda.timeoutSeconds;
  const context = lambdaContext(lambda, Date.now() + timeoutSeconds * 1000);
  options.context?.(context);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdaTimeoutError(timeoutSeconds)), timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => handler(event, context)), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Imports the function named by a serverless.yml `handler:` (e.g. `functions/enrich/handler.handler`) from the repository root. */
export async function importHandler<T = LambdaHandler<never>>(repositoryRoot: string, handler: string): Promise<T> {
  const separator = handler.lastIndexOf('.');
  const modulePath = resolve(repositoryRoot, `${handler.slice(0, separator)}.ts`);
  const exportName = handler.slice(separator + 1);
  const module = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
  const exported = module[exportName];
  if (typeof exported !== 'function') throw new Error(`${modulePath} does not export a function named "${exportName}"`);
  return exported as T;
}
