import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { Tables, type KeyAttribute, type TableDefinition, type TableKey } from '../lambdas/adapters/table-definitions';
import { requireWholeNumber } from './validate';

export interface EbbTablesProps {
  /**
   * What happens to every table when it leaves the stack.
   * @default RemovalPolicy.RETAIN - stored accounts and queues outlive a mistaken `cdk destroy`
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Days of point-in-time recovery. Acked, deleted and expired items stay restorable for this long,
   * so an operator with a stricter deletion promise may shorten it.
   * @default 35
   */
  readonly pointInTimeRecoveryDays?: number;
}

/**
 * One DynamoDB table per entry of `Tables` (lambdas/adapters/table-definitions.ts), the same
 * definitions the local stack feeds to dynalite.
 *
 * `Table` rather than `TableV2`: ebb is deployed to one region of the operator's account, so the
 * replica model of `AWS::DynamoDB::GlobalTable` buys nothing, and `AWS::DynamoDB::Table` is the
 * resource most tooling and compliance rules are written against. Names are left to CloudFormation
 * so two stacks can share an account; handlers learn them from their environment.
 */
export class EbbTables extends Construct {
  readonly tables: Readonly<Record<TableKey, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: EbbTablesProps = {}) {
    super(scope, id);
    const recoveryPeriodInDays = props.pointInTimeRecoveryDays ?? 35;
    requireWholeNumber(this, 'pointInTimeRecoveryDays', recoveryPeriodInDays, 1, 35);

    const tables: Partial<Record<TableKey, dynamodb.Table>> = {};
    for (const key of Object.keys(Tables) as TableKey[]) {
      const definition: TableDefinition = Tables[key];
      const table = new dynamodb.Table(this, definition.id, {
        partitionKey: attribute(definition.partitionKey),
        sortKey: definition.sortKey && attribute(definition.sortKey),
        // Traffic is bursty and small: on-demand needs no capacity planning and scales to zero cost.
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true, recoveryPeriodInDays },
        // A KMS key the account can audit in CloudTrail, without a customer key to administer.
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        timeToLiveAttribute: definition.ttlAttribute,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      });
      tables[key] = table;
    }
    this.tables = tables as Record<TableKey, dynamodb.Table>;
  }

  /** The table behind `key`. */
  table(key: TableKey): dynamodb.Table {
    return this.tables[key];
  }
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  const types = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY } as const;
  return { name: key.name, type: types[key.type] };
}
