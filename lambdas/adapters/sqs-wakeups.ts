import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeviceAddress, Wakeups } from '../core/ports';
import { encodeWakeup } from './wakeup-message';

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
