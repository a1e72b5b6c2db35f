import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { startDynalite } from '../local/dynamo';

export interface PutItemResult {
  readonly perSecond: number;
  readonly puts: number;
}

/** The storage bound: raw PutItem/s into an in-process dynalite, items shaped like queued messages. */
export async function measurePutItem(options: { seconds: number; concurrency: number; itemBytes: number }): Promise<PutItemResult> {
  const dynamo = await startDynalite();
  try {
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: 'bench-queue',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'rcpt', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'rcpt', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const body = randomBytes(options.itemBytes);
    let puts = 0;
    const started = performance.now();
    const deadline = started + options.seconds * 1000;
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, worker) => {
        while (performance.now() < deadline) {
          const n = puts++;
          await dynamo.client.send(
            new PutItemCommand({
              TableName: 'bench-queue',
              Item: {
                rcpt: { S: `user${worker}#1` },
                sk: { S: `m#${String(n).padStart(13, '0')}` },
                ct: { B: body },
                expiresAt: { N: '9999999999' },
              },
            }),
          );
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    return { perSecond: puts / elapsed, puts };
  } finally {
    await dynamo.stop();
  }
}
