import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { portsFromEnv } from '../adapters/env';
import { dynamoPushTokens } from '../adapters/port-adapters';
import { pushServicesFromEnv, type PushServices } from '../adapters/push-services';
import { parseWakeup } from '../adapters/wakeup-message';
import type { PortAdapters } from '../adapters/wiring';
import { deliverWakeups, type WakeupPorts } from '../core/push-wake';

/** The one port of the tables the sender uses: the push subscriptions. */
export const adapters = { pushTokens: dynamoPushTokens } satisfies PortAdapters;

let services: PushServices | undefined;

/**
 * The wake-up sender (ARCH §6.13), triggered by the wake-up queue with batches of up to ten messages and
 * `ReportBatchItemFailures`: the records it hands back are delivered again after the visibility timeout, and
 * after the queue's receive count go to its dead-letter queue. A throw (a bad environment) fails the whole batch.
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const ports = portsFromEnv(adapters);
  services ??= pushServicesFromEnv(ports.config);
  return sendWakeups(event, { pushTokens: ports.pushTokens, ...services, logger: ports.logger });
}

/** One SQS batch through the sender's core: each body parsed with the strict wake-up schema, at the edge. */
export async function sendWakeups(event: SQSEvent, ports: WakeupPorts): Promise<SQSBatchResponse> {
  const records = event.Records.map((record) => ({ id: record.messageId, address: parseWakeup(record.body) }));
  const { failed } = await deliverWakeups(ports, records);
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}
