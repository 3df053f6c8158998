// Ingest handler CPU cost per event (validation, server fields, serialisation), in-process with a
// stub Kinesis client, beside the floor: JSON.parse of the same request + JSON.stringify of each event.
import { Logger } from '@aws-lambda-powertools/logger';
import { createIngest } from '../functions/ingest/ingest.js';
import { WriteKeyVerifier } from '../functions/ingest/write-keys.js';
import { KinesisBatchWriter } from '../functions/shared/kinesis-batch-writer.js';
import { lambdaContext } from '../local/lambda/runtime.js';
import { demoEvents, ingestRequest } from './events.js';
import { figure, stubKinesisClient, timePerCall, type Suite } from './harness.js';

const BATCH_SIZE = 100;
const WRITE_KEY = 'wk_bench_0123456789abcdefghij';

export const ingestCpu: Suite = {
  name: 'ingest-cpu',
  async run() {
    const stubClient = stubKinesisClient();
    const writer = new KinesisBatchWriter({ client: stubClient, stream: 'events-raw' });
    const verifier = new WriteKeyVerifier([WRITE_KEY]);
    const ingest = createIngest({ writer, verifier: async () => verifier, logger: new Logger({ logLevel: 'SILENT' }), allowedOrigins: ['*'] });

    const batch = demoEvents(BATCH_SIZE, { withMessageId: true });
    const request = ingestRequest({ batch, sentAt: new Date().toISOString() }, WRITE_KEY);
    const context = lambdaContext({ functionName: 'ingest', timeoutSeconds: 60, memorySizeMb: 512 }, Date.now() + 60_000);
    const response = await ingest(request, context);
    if (response.statusCode !== 200) throw new Error(`bench request was refused: ${response.body}`);

    const noIdRequest = ingestRequest({ batch: demoEvents(BATCH_SIZE, { withMessageId: false }) }, WRITE_KEY);
    const ours = (await timePerCall(() => ingest(request, context))) / BATCH_SIZE;
    const oursNoId = (await timePerCall(() => ingest(noIdRequest, context))) / BATCH_SIZE;
    const floor =
      (await timePerCall(() => {
        const parsed = JSON.parse(request.body!) as { batch: unknown[] };
        for (const event of parsed.batch) Buffer.from(JSON.stringify(event), 'utf8');
      })) / BATCH_SIZE;
    const target = '≤ 3x the JSON.parse + JSON.stringify floor';
    return {
      'ingest.cpu_per_event': figure(ours / 1000, 'µs/event', { baseline: floor / 1000, target, met: ours / floor <= 3 }),
      'ingest.cpu_per_event_derived_message_id': figure(oursNoId / 1000, 'µs/event', { baseline: floor / 1000 }),
      'ingest.bytes_per_event': figure(Buffer.byteLength(request.body!) / BATCH_SIZE, 'bytes'),
    };
  },
};
