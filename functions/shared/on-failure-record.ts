// The message a Kinesis event source mapping sends to its on-failure destination (SQS deployed, a file
// locally) for a batch it gave up on: where the records are, not the records (Lambda developer guide).
/** What Lambda sends to an on-failure destination for a Kinesis batch it gives up on (Lambda developer guide). */
export interface KinesisOnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  /** The last invocation's outcome; absent when the batch expired before any invocation. */
  responseContext?: {
    statusCode: number;
    executedVersion: string;
    functionError?: string;
  };
  version: '1.0';
  timestamp: string;
  KinesisBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}
