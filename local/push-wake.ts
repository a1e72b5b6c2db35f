import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { WAKEUP_MAX_RECEIVES } from '../lambdas/core/push-wake';

/**
 * The wake-up queue's event source, played in process (ARCH §11.1): each body the routes queue is handed to the
 * sender as a one-record SQS event, as Lambda's event source mapping would hand it; a record the sender reports
 * failed (or a throw) is received again, and after `maxReceives` receives it goes to the dead-letter queue (the
 * in-process queue's `failed`), as the queue's redrive policy moves it on AWS. Retries come at once: locally
 * there is no visibility timeout to wait out.
 */

export function localWakeupConsumer(
  send: (event: SQSEvent) => Promise<SQSBatchResponse>,
  maxReceives = WAKEUP_MAX_RECEIVES,
): (body: string) => Promise<void> {
  return async (body) => {
    const messageId = randomUUID();
    for (let receive = 1; ; receive++) {
      let failed: boolean;
      try {
        const response = await send(eventOf(messageId, body, receive));
        failed = response.batchItemFailures.some((failure) => failure.itemIdentifier === messageId);
      } catch {
        failed = true;
      }
      if (!failed) return;
      if (receive >= maxReceives) throw new Error('wake-up moved to the dead-letter queue');
    }
  };
}

function eventOf(messageId: string, body: string, receive: number): SQSEvent {
  const now = String(Date.now());
  return {
    Records: [
      {
        messageId,
        receiptHandle: `${messageId}#${receive}`,
        body,
        attributes: {
          ApproximateReceiveCount: String(receive),
          SentTimestamp: now,
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:ebb-wakeups',
        awsRegion: 'local',
      },
    ],
  };
}
