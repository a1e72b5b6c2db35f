import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Tables, type TableDefinition, type TableKey } from '../../lambdas/adapters/table-definitions';
import { EbbTables } from '../../infra/tables';
import { logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

const tableKeys = Object.keys(Tables) as TableKey[];

describe('EbbTables', () => {
  describe('GIVEN the stack synthesized from cdk.json', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling();
    });

    function tableProps(key: TableKey): Record<string, unknown> {
      const table = resourcesOfType(synth.template, 'AWS::DynamoDB::Table')[logicalId(synth.stack.tables.table(key))];
      if (!table?.Properties) throw new Error(`no table ${key}`);
      return table.Properties;
    }

    test('THEN there is exactly one table per definition', () => {
      synth.template.resourceCountIs('AWS::DynamoDB::Table', tableKeys.length);
    });

    test.each(tableKeys)('THEN the %s table has the defined key schema', (key) => {
      const definition: TableDefinition = Tables[key];
      const keySchema = [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }];
      const attributes = [{ AttributeName: definition.partitionKey.name, AttributeType: definition.partitionKey.type }];
      if (definition.sortKey) {
        keySchema.push({ AttributeName: definition.sortKey.name, KeyType: 'RANGE' });
        attributes.push({ AttributeName: definition.sortKey.name, AttributeType: definition.sortKey.type });
      }
      const props = tableProps(key);
      expect(props.KeySchema).toEqual(keySchema);
      expect(props.AttributeDefinitions).toEqual(attributes);
    });

    test.each(tableKeys)('THEN the %s table is on-demand, encrypted with the AWS-managed key, with point-in-time recovery', (key) => {
      const props = tableProps(key);
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      // SSEEnabled without a key: the AWS-managed `aws/dynamodb` KMS key.
      expect(props.SSESpecification).toEqual({ SSEEnabled: true });
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 });
      // CloudFormation generates the name, so two stacks can share an account.
      expect(props.TableName).toBeUndefined();
    });

    test.each(tableKeys)('THEN TTL of the %s table follows its definition', (key) => {
      const definition: TableDefinition = Tables[key];
      const props = tableProps(key);
      if (definition.ttlAttribute) {
        expect(props.TimeToLiveSpecification).toEqual({ AttributeName: definition.ttlAttribute, Enabled: true });
      } else {
        expect(props.TimeToLiveSpecification).toBeUndefined();
      }
    });

    test('THEN every table is retained when removed from the stack', () => {
      for (const table of Object.values(resourcesOfType(synth.template, 'AWS::DynamoDB::Table'))) {
        expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    });

    test('THEN the reports table, kept until purge, has point-in-time recovery, encryption and no TTL, and its name is the ReportsTableName output', () => {
      const props = tableProps('reports');
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 });
      expect(props.SSESpecification).toEqual({ SSEEnabled: true });
      expect(props.TimeToLiveSpecification).toBeUndefined();
      synth.template.hasOutput('ReportsTableName', { Value: { Ref: logicalId(synth.stack.tables.table('reports')) } });
    });

    test('THEN the queue table, whose generated name derives from its logical id, has "Queue" in it', () => {
      expect(logicalId(synth.stack.tables.table('queue'))).toContain('Queue');
    });

    test.each(tableKeys)('THEN the name of the %s table is a stack output', (key) => {
      synth.template.hasOutput(`${Tables[key].id}TableName`, { Value: { Ref: logicalId(synth.stack.tables.table(key)) } });
    });
  });

  describe('GIVEN EbbTables on its own', () => {
    test('WHEN pointInTimeRecoveryDays is out of range THEN construction fails naming the prop', () => {
      const stack = new Stack(new App());
      expect(() => new EbbTables(stack, 'Tables', { pointInTimeRecoveryDays: 36 })).toThrow(
        /pointInTimeRecoveryDays must be a whole number from 1 to 35, got 36/,
      );
    });

    test('WHEN pointInTimeRecoveryDays is shortened THEN every table uses it', () => {
      const stack = new Stack(new App());
      new EbbTables(stack, 'Tables', { pointInTimeRecoveryDays: 7 });
      Template.fromStack(stack).allResourcesProperties('AWS::DynamoDB::Table', {
        PointInTimeRecoverySpecification: Match.objectLike({ RecoveryPeriodInDays: 7 }),
      });
    });
  });
});
