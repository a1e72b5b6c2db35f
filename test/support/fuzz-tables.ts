import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import type { TableKey } from '../../lambdas/adapters/table-definitions';

export type TableCounts = Partial<Record<TableKey, number>>;

/**
 * Item counts of the local stack's tables, by Scan with `Select: COUNT`. `rateLimits` is left out by
 * default: every frame takes a token, refused ones too, so its buckets change by design.
 */
export class TableCounter {
  private readonly client: DynamoDBClient;

  constructor(
    private readonly stack: LocalStack,
    private readonly exclude: readonly TableKey[] = ['rateLimits'],
  ) {
    this.client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS, maxAttempts: 3 });
  }

  async counts(): Promise<TableCounts> {
    const keys = (Object.keys(this.stack.tables) as TableKey[]).filter((k) => !this.exclude.includes(k));
    const entries = await Promise.all(keys.map(async (key) => [key, await this.count(this.stack.tables[key])] as const));
    return Object.fromEntries(entries);
  }

  private async count(table: string): Promise<number> {
    let total = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey: start }));
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return total;
  }

  destroy(): void {
    this.client.destroy();
  }
}
