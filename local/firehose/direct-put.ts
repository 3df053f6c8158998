// The Firehose API of the local stack, for the Direct PUT delivery streams of the template: PutRecord and
// PutRecordBatch in the JSON 1.1 protocol the SDK's FirehoseClient speaks (POST /, X-Amz-Target:
// Firehose_20150804.<operation>, Data as base64), so a handler reaches it through AWS_ENDPOINT_URL_FIREHOSE
// (local/aws-env.ts) with no "if local" branch.
//
// Every Direct PUT delivery stream has a hidden stream of one shard in the Kinesis emulator
// (`firehose-directput-<name>`, local/template/delivery-streams.ts). A request's records are appended to it
// with one PutRecords, and the answer comes only after the emulator has accepted them: an acknowledged record
// is as durable as any Kinesis record here (in LevelDB's log before the emulator answers). The delivery loop
// (delivery-stream.ts) then reads that stream like a Kinesis source, with the same exactly-once delivery. A
// record the emulator refuses (throttled, or the emulator is down) is answered as a per-record failure,
// ServiceUnavailableException, for the producer to retry, as Firehose answers a record it could not take.
// The RecordId of an accepted record is the recordId the transform Lambda later gets for it.
//
// Firehose's limits and answers (Firehose API reference, PutRecordBatch and PutRecord; the "Common errors"):
//   - an unknown delivery stream: 400 ResourceNotFoundException; a Kinesis-source one: 400 InvalidArgumentException;
//   - a constraint of the API model broken (no name, 0 or more than 500 records, a record over 1,000 KiB):
//     400 ValidationException, "1 validation error detected: …", as Firehose answers it;
//   - more than 4 MiB of record data in one PutRecordBatch: 400 InvalidArgumentException, as Firehose answers it;
//   - a body that is not the operation's JSON (not JSON, wrong types, Data not base64): 400
//     InvalidArgumentException. Deviation: Firehose answers some of these with SerializationException.
//   - an operation other than the two: 400 UnknownOperationException.
// Not served: the control plane (CreateDeliveryStream, DescribeDeliveryStream …: the template is the
// configuration), Firehose's throughput quotas, and tagging or encryption calls. Encrypted in the answer says
// whether the template sets DeliveryStreamEncryptionConfigurationInput; locally nothing is encrypted.
import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOCAL_ACCOUNT_ID } from '../aws-env.js';
import { ensureStream } from '../kinesis/streams.js';
import { startDrainingServer } from '../ports.js';
import type { DeliveryStreamDefinition, DirectPutSource } from '../template/delivery-streams.js';
import { firehoseRecordId } from './buffer-converter.js';

/** The X-Amz-Target prefix of the Firehose API version the SDK speaks. */
const TARGET_PREFIX = 'Firehose_20150804.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** PutRecordBatch: at most 500 records, each at most 1,000 KiB, and 4 MiB of data in all (before base64). */
export const DIRECT_PUT_LIMITS = { recordsPerCall: 500, recordBytes: 1_024_000, bytesPerCall: 4 * 1024 * 1024 } as const;

/** A body larger than this cannot be a valid request (4 MiB of data is about 5.6 MB as base64 in JSON): not read further. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface DirectPutCounters {
  /** Valid PutRecord and PutRecordBatch calls, whose records were handed to the backing stream. */
  requests: number;
  /** Records in the backing stream, acknowledged to the producer. */
  recordsAccepted: number;
  /** Records answered with a per-record failure (or, for PutRecord, a ServiceUnavailableException). */
  recordsFailed: number;
}

export interface FirehoseApiOptions {
  /** Every delivery stream of the template: the Direct PUT ones are served, the others are known (and refused). */
  definitions: readonly DeliveryStreamDefinition[];
  kinesis: KinesisClient;
  /** 0 (default) picks a free port. */
  port?: number;
  logger?: Pick<Console, 'warn' | 'error'>;
}

export interface FirehoseApi {
  /** http://127.0.0.1:<port>: AWS_ENDPOINT_URL_FIREHOSE. */
  endpoint: string;
  port: number;
  /** By delivery stream name, for the Direct PUT ones. */
  counters(): Record<string, DirectPutCounters>;
  /** Stops accepting connections and resolves once every request in flight has been answered. */
  close(): Promise<void>;
}

/** Creates the backing stream of every Direct PUT delivery stream that has none yet (a restart keeps them). */
export async function ensureDirectPutStreams(kinesis: KinesisClient, definitions: readonly DeliveryStreamDefinition[], timeoutMs = 30_000): Promise<void> {
  await Promise.all(
    definitions.flatMap(({ source }) => (source.kind === 'direct-put' ? [ensureStream(kinesis, source.streamName, source.shardCount, timeoutMs)] : [])),
  );
}

export async function startFirehoseApi(options: FirehoseApiOptions): Promise<FirehoseApi> {
  const logger = options.logger ?? console;
  await ensureDirectPutStreams(options.kinesis, options.definitions);
  const byName = new Map(options.definitions.map((d) => [d.name, d]));
  const counters = new Map(options.definitions.filter((d) => d.source.kind === 'direct-put').map((d) => [d.name, { requests: 0, recordsAccepted: 0, recordsFailed: 0 }]));
  const api: Api = { kinesis: options.kinesis, byName, counters, logger };
  const http = await startDrainingServer(
    (request, response) => handle(request, response, api),
    (error, response) => {
      logger.error('[firehose api] failed to answer a request', error);
      sendError(response, new ApiError(500, 'ServiceUnavailableException', 'The local Firehose failed to answer.'));
    },
    options.port ?? 0,
  );
  return {
    endpoint: http.url,
    port: http.port,
    counters: () => Object.fromEntries([...counters].map(([name, c]) => [name, { ...c }])),
    close: http.close,
  };
}

interface Api {
  kinesis: KinesisClient;
  byName: Map<string, DeliveryStreamDefinition>;
  counters: Map<string, DirectPutCounters>;
  logger: Pick<Console, 'warn' | 'error'>;
}

/** An answer in the AWS JSON error shape: `{"__type": …, "message": …}` and the x-amzn-errortype header. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

async function handle(request: IncomingMessage, response: ServerResponse, api: Api): Promise<void> {
  try {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (request.method !== 'POST' || (operation !== 'PutRecordBatch' && operation !== 'PutRecord')) {
      request.resume();
      throw new ApiError(400, 'UnknownOperationException', `The local Firehose serves POST / with X-Amz-Target ${TARGET_PREFIX}PutRecordBatch or ${TARGET_PREFIX}PutRecord, not ${request.method} ${target || 'without X-Amz-Target'}.`);
    }
    const body = await readBody(request);
    if (operation === 'PutRecordBatch') sendJson(response, 200, await putRecordBatch(api, body));
    else sendJson(response, 200, await putRecord(api, body));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    sendError(response, error);
  }
}

async function putRecordBatch(api: Api, body: unknown): Promise<Record<string, unknown>> {
  const request = objectBody(body);
  const violations: string[] = [];
  const name = deliveryStreamName(request, violations);
  const records = request['Records'];
  if (records === undefined || records === null) violations.push(nullViolation('records'));
  else if (!Array.isArray(records)) throw malformed('Records must be a list of records');
  else if (records.length < 1) violations.push(`Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1`);
  else if (records.length > DIRECT_PUT_LIMITS.recordsPerCall) {
    violations.push(`Value '[${records.length} records]' at 'records' failed to satisfy constraint: Member must have length less than or equal to ${DIRECT_PUT_LIMITS.recordsPerCall}`);
  }
  // Firehose checks the count before the records themselves: more than 500 fail on that alone.
  const blobs = Array.isArray(records) && records.length <= DIRECT_PUT_LIMITS.recordsPerCall ? records.map((record, i) => recordData(record, `records.${i + 1}.member.data`, violations)) : [];
  throwViolations(violations);
  const total = blobs.reduce((n, b) => n + b.byteLength, 0);
  if (total > DIRECT_PUT_LIMITS.bytesPerCall) throw new ApiError(400, 'InvalidArgumentException', 'Records size exceeds 4 MB limit');
  const source = directPutSource(api, name!);

  const results = await append(api, name!, source, blobs);
  const failed = results.filter((r) => r.ErrorCode !== undefined).length;
  return { FailedPutCount: failed, Encrypted: source.encrypted, RequestResponses: results };
}

async function putRecord(api: Api, body: unknown): Promise<Record<string, unknown>> {
  const request = objectBody(body);
  const violations: string[] = [];
  const name = deliveryStreamName(request, violations);
  const record = request['Record'];
  let blob: Buffer = Buffer.alloc(0);
  if (record === undefined || record === null) violations.push(nullViolation('record'));
  else blob = recordData(record, 'record.data', violations);
  throwViolations(violations);
  const source = directPutSource(api, name!);

  const [result] = await append(api, name!, source, [blob]);
  if (result!.ErrorCode !== undefined) throw new ApiError(500, 'ServiceUnavailableException', result!.ErrorMessage!);
  return { RecordId: result!.RecordId, Encrypted: source.encrypted };
}

type RecordResult = { RecordId: string; ErrorCode?: undefined; ErrorMessage?: undefined } | { RecordId?: undefined; ErrorCode: string; ErrorMessage: string };

/** Appends the records to the backing stream: one result per record, in order, each a RecordId or a failure to retry. */
async function append(api: Api, name: string, source: DirectPutSource, blobs: readonly Buffer[]): Promise<RecordResult[]> {
  const counters = api.counters.get(name)!;
  counters.requests++;
  let results: RecordResult[];
  try {
    const out = await api.kinesis.send(
      new PutRecordsCommand({
        StreamName: source.streamName,
        // Firehose takes no partition key: any key that spreads will do (the backing stream has one shard anyway).
        Records: blobs.map((data) => ({ Data: data, PartitionKey: randomBytes(8).toString('hex') })),
      }),
    );
    const entries = out.Records ?? [];
    results = blobs.map((_, i) => {
      const entry = entries[i];
      if (entry?.SequenceNumber) return { RecordId: firehoseRecordId(entry.SequenceNumber) };
      return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: `Slow down. (the local Kinesis emulator refused the record: ${entry?.ErrorCode ?? 'no answer'})` };
    });
  } catch (error) {
    // Nothing is known to be stored: every record is answered as failed, for the producer to send again.
    api.logger.warn(`[firehose api] ${name}: PutRecords to ${source.streamName} failed; answering ${blobs.length} record(s) as failed: ${(error as Error).message}`);
    const message = `Slow down. (the local Kinesis emulator is unavailable: ${(error as Error).name})`;
    results = blobs.map(() => ({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: message }));
  }
  const failed = results.filter((r) => r.ErrorCode !== undefined).length;
  counters.recordsAccepted += results.length - failed;
  counters.recordsFailed += failed;
  return results;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function deliveryStreamName(request: Record<string, unknown>, violations: string[]): string | undefined {
  const name = request['DeliveryStreamName'];
  if (name === undefined || name === null) {
    violations.push(nullViolation('deliveryStreamName'));
    return undefined;
  }
  if (typeof name !== 'string') throw malformed('DeliveryStreamName must be a string');
  if (name.length < 1 || name.length > 64) violations.push(`Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must have length between 1 and 64`);
  else if (!/^[a-zA-Z0-9._-]+$/.test(name)) violations.push(`Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9._-]+`);
  return name;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A record's Data, decoded; its constraint violations are added to `violations`. */
function recordData(record: unknown, path: string, violations: string[]): Buffer {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw malformed('each record must be an object with Data');
  const data = (record as Record<string, unknown>)['Data'];
  if (data === undefined || data === null) {
    violations.push(nullViolation(path));
    return Buffer.alloc(0);
  }
  if (typeof data !== 'string' || !BASE64.test(data)) throw malformed('Data must be a base64 string');
  const blob = Buffer.from(data, 'base64');
  if (blob.byteLength > DIRECT_PUT_LIMITS.recordBytes) {
    violations.push(`Value '${blob.byteLength} bytes' at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${DIRECT_PUT_LIMITS.recordBytes}`);
  }
  return blob;
}

function nullViolation(path: string): string {
  return `Value null at '${path}' failed to satisfy constraint: Member must not be null`;
}

function throwViolations(violations: string[]): void {
  if (violations.length === 0) return;
  const count = violations.length === 1 ? '1 validation error detected' : `${violations.length} validation errors detected`;
  throw new ApiError(400, 'ValidationException', `${count}: ${violations.join('; ')}`);
}

function malformed(what: string): ApiError {
  return new ApiError(400, 'InvalidArgumentException', `The request body is not valid: ${what}.`);
}

function directPutSource(api: Api, name: string): DirectPutSource {
  const definition = api.byName.get(name);
  if (!definition) throw new ApiError(400, 'ResourceNotFoundException', `Firehose stream ${name} under account ${LOCAL_ACCOUNT_ID} not found.`);
  if (definition.source.kind !== 'direct-put') {
    throw new ApiError(400, 'InvalidArgumentException', `This operation is not permitted on KinesisStreamAsSource type Firehose stream ${definition.arn}.`);
  }
  return definition.source;
}

/** The request body as JSON; too large a body is refused without reading the rest. */
function readBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        chunks.length = 0;
        reject(new ApiError(400, 'InvalidArgumentException', 'Records size exceeds 4 MB limit'));
        return;
      }
      chunks.push(chunk);
    });
    let ended = false;
    request.on('error', reject);
    // A client gone before the end of its body gets no answer; the request must not stay in flight for close().
    request.on('close', () => {
      if (!ended) reject(malformed('the body ended early'));
    });
    request.on('end', () => {
      ended = true;
      if (refused) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        reject(malformed('it is not JSON'));
      }
    });
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  response.end(text);
}

function sendError(response: ServerResponse, error: ApiError): void {
  response.setHeader('x-amzn-errortype', error.type);
  sendJson(response, error.status, { __type: error.type, message: error.message });
}
