import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DeviceAddress, Wakeups } from '../core/ports';
import { encodeWakeup } from './wakeup-message';
import type { AdapterContext } from './wiring';

/** The wake-up queue on AWS: one SendMessage per wake-up to the queue at `EBB_WAKEUP_QUEUE_URL` (ARCH §6.13). */
export class SqsWakeups implements Wakeups {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(device: DeviceAddress): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: encodeWakeup(device) }));
  }
}

/**
 * The wake-up queue port: the options' own (the local stack's), else SQS at `wakeupQueueUrl`. A handler given
 * neither fails on first use. Only this module names the SQS client (see port-adapters.ts).
 */
export const wakeupQueue = (c: AdapterContext): Wakeups => {
  if (c.options.wakeups) return c.options.wakeups();
  const url = c.options.wakeupQueueUrl;
  if (!url) throw new Error('EBB_WAKEUP_QUEUE_URL is not set for this handler');
  return new SqsWakeups(new SQSClient({}), url);
};
