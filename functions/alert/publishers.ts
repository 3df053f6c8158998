// Where alerts go, behind one interface: SNS on AWS, a JSON-lines file locally. The handler builds the one
// that its configuration names (createAlertPublisher) and never asks where it runs.
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isRetryableWriteError } from '../shared/kinesis-batch-writer.js';
import type { AlertMessage } from './alert-message.js';
import type { AlertDestination } from './config.js';
import { AlertPublishError } from './errors.js';

export interface PublishResult {
  /** Ids of the alerts that were not published (to retry). */
  failed: Set<string>;
  lastError?: string;
}

export interface AlertPublisher {
  /** What the alerts go to, for log lines. */
  readonly destination: string;
  /**
   * Publishes what it can before `deadline` (epoch ms) and names what it could not. Throws
   * AlertPublishError only when retrying cannot help.
   */
  publish(alerts: readonly AlertMessage[], options: { deadline: number }): Promise<PublishResult>;
}

/** SNS PublishBatch takes at most 10 entries (and 256 KiB) per call. */
export const MAX_ENTRIES_PER_PUBLISH = 10;

export class SnsAlertPublisher implements AlertPublisher {
  readonly destination: string;

  constructor(private readonly options: { client: SNSClient; topicArn: string; now?: () => number }) {
    this.destination = options.topicArn;
  }

  async publish(alerts: readonly AlertMessage[], { deadline }: { deadline: number }): Promise<PublishResult> {
    const now = this.options.now ?? Date.now;
    const result: PublishResult = { failed: new Set() };
    for (let i = 0; i < alerts.length; i += MAX_ENTRIES_PER_PUBLISH) {
      const chunk = alerts.slice(i, i + MAX_ENTRIES_PER_PUBLISH);
      const remaining = deadline - now();
      if (remaining <= 0) {
        for (const a of chunk) result.failed.add(a.id);
        result.lastError = 'DeadlineExceeded';
        continue;
      }
      try {
        const response = await this.options.client.send(
          new PublishBatchCommand({ TopicArn: this.options.topicArn, PublishBatchRequestEntries: chunk.map(entry) }),
          { abortSignal: AbortSignal.timeout(remaining) },
        );
        for (const failed of response.Failed ?? []) {
          if (failed.Id) result.failed.add(failed.Id);
          result.lastError = failed.Code ?? 'PublishFailed';
        }
      } catch (error) {
        const name = error instanceof Error ? error.name : 'UnknownError';
        if (!isRetryableWriteError(error)) {
          throw new AlertPublishError(`PublishBatch to ${this.options.topicArn} failed: ${name}`, this.options.topicArn, { cause: error });
        }
        for (const a of chunk) result.failed.add(a.id);
        result.lastError = name;
      }
    }
    return result;
  }
}

const entry = (alert: AlertMessage): PublishBatchRequestEntry => ({
  Id: alert.id,
  Subject: alert.subject,
  Message: alert.body,
  MessageAttributes: Object.fromEntries(
    Object.entries(alert.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  ),
});

/** One JSON object per line: what SNS would have delivered, plus the anomaly row itself. */
export class JsonLinesAlertPublisher implements AlertPublisher {
  readonly destination: string;

  constructor(private readonly options: { path: string; now?: () => number }) {
    this.destination = `file:${options.path}`;
  }

  async publish(alerts: readonly AlertMessage[]): Promise<PublishResult> {
    if (alerts.length === 0) return { failed: new Set() };
    const publishedAt = new Date((this.options.now ?? Date.now)()).toISOString();
    const lines = alerts.map((a) => JSON.stringify({ publishedAt, id: a.id, subject: a.subject, message: a.body, attributes: a.attributes, anomaly: a.anomaly }));
    try {
      await mkdir(dirname(this.options.path), { recursive: true });
      // One append of whole lines: a reader never sees half an alert.
      await appendFile(this.options.path, `${lines.join('\n')}\n`);
      return { failed: new Set() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'UnknownError';
      return { failed: new Set(alerts.map((a) => a.id)), lastError: code };
    }
  }
}

export function createAlertPublisher(destination: AlertDestination, clients: { sns: () => SNSClient }): AlertPublisher {
  switch (destination.kind) {
    case 'sns':
      return new SnsAlertPublisher({ client: clients.sns(), topicArn: destination.topicArn });
    case 'file':
      return new JsonLinesAlertPublisher({ path: destination.path });
  }
}
