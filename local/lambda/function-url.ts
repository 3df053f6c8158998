// A local Lambda function URL: every request, whatever its method and path, to one function as a payload
// format 2.0 event with the `$default` route key, as Lambda sends it. No CORS of its own (the deployed URL
// has none either: the function answers it, functions/ingest/cors.ts) and Lambda's 6 MB request limit.
// It is the HTTP gateway (./http-gateway.ts) with one catch-all route, so both fronts share one runtime path.
import type { FunctionDefinition } from '../template/functions.js';
import { startHttpGateway, type HttpApiHandler, type HttpGateway } from './http-gateway.js';

/** Lambda's limit on a synchronous invocation's request payload. */
export const FUNCTION_URL_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export function startFunctionUrl(options: { lambda: FunctionDefinition; handler: HttpApiHandler; port?: number; logger?: Pick<Console, 'error' | 'warn'> }): Promise<HttpGateway> {
  const { lambda } = options;
  return startHttpGateway({
    config: { routes: [{ method: '*', path: '*', functionKey: lambda.functionKey }], functions: new Map([[lambda.functionKey, lambda]]) },
    handlers: { [lambda.functionKey]: options.handler },
    maxPayloadBytes: FUNCTION_URL_MAX_PAYLOAD_BYTES,
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
