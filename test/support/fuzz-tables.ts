import { Agent, request } from 'node:http';
import type { LocalStack } from '../../local';
import type { TableKey } from '../../lambdas/adapters/table-definitions';

export type TableCounts = Partial<Record<TableKey, number>>;

/**
 * Item counts of the local stack's tables, by Scan with `Select: COUNT`. `rateLimits` is left out by
 * default: every frame takes a token, refused ones too, so its buckets change by design.
 *
 * The fuzzers count every table after each accepted frame and each batch of refused ones (~860 times a run
 * of test/fuzz/routes.test.ts). Each Scan is posted to dynalite as DynamoDB's JSON protocol, not through the
 * AWS SDK: its middleware stack and request signing (which dynalite does not check) cost about half again as
 * much as dynalite's own answer.
 */
export class TableCounter {
  private readonly agent = new Agent({ keepAlive: true });
  private readonly endpoint: URL;

  constructor(
    private readonly stack: LocalStack,
    private readonly exclude: readonly TableKey[] = ['rateLimits'],
  ) {
    this.endpoint = new URL(stack.dynamodbEndpoint);
  }

  async counts(): Promise<TableCounts> {
    const keys = (Object.keys(this.stack.tables) as TableKey[]).filter((k) => !this.exclude.includes(k));
    const entries = await Promise.all(keys.map(async (key) => [key, await this.count(this.stack.tables[key])] as const));
    return Object.fromEntries(entries);
  }

  private async count(table: string): Promise<number> {
    let total = 0;
    let start: unknown;
    do {
      const page = await this.scan({ TableName: table, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey: start });
      total += page.Count;
      start = page.LastEvaluatedKey;
    } while (start);
    return total;
  }

  private scan(input: Record<string, unknown>): Promise<{ Count: number; LastEvaluatedKey?: unknown }> {
    const body = JSON.stringify(input);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.endpoint.hostname,
          port: this.endpoint.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': Buffer.byteLength(body),
            'x-amz-target': 'DynamoDB_20120810.Scan',
            // dynalite wants a well-formed SigV4 header, and checks no signature.
            'x-amz-date': '20300101T000000Z',
            authorization: 'AWS4-HMAC-SHA256 Credential=local/20300101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) reject(new Error(`Scan of ${String(input.TableName)}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve(JSON.parse(text) as { Count: number; LastEvaluatedKey?: unknown });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  destroy(): void {
    this.agent.destroy();
  }
}
