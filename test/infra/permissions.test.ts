import type { TableKey } from '../../lambdas/adapters/table-definitions';
import { Handlers, ScheduledHandlers } from '../../lambdas/routes';
import { logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

interface Statement {
  readonly Effect: string;
  readonly Condition?: unknown;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
}

interface PolicyDocument {
  readonly Statement: Statement[];
}

/** Every Lambda of the stack: route handlers first, then the scheduled ones, which alone may Scan. */
const AllHandlers = [...Handlers, ...ScheduledHandlers];

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Whether an IAM action pattern (with `*` and `?`) matches `action`, case-insensitively as IAM does. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** `Fn::Join` of strings and `Ref`s as one readable string, e.g. `arn:{AWS::Partition}:…`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `{${String(object.Ref)}}`;
  if ('Fn::GetAtt' in object) return `{${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

describe('least privilege', () => {
  describe('GIVEN the stack synthesized from cdk.json', () => {
    let synth: Synthesized;
    let everyStatement: Statement[];
    beforeAll(() => {
      synth = synthWithoutBundling();
      const documents: PolicyDocument[] = [
        ...Object.values(resourcesOfType(synth.template, 'AWS::IAM::Policy')).map((p) => p.Properties!.PolicyDocument as PolicyDocument),
        ...Object.values(resourcesOfType(synth.template, 'AWS::IAM::ManagedPolicy')).map((p) => p.Properties!.PolicyDocument as PolicyDocument),
        ...Object.values(resourcesOfType(synth.template, 'AWS::IAM::Role')).flatMap((r) =>
          asList(r.Properties!.Policies as { PolicyDocument: PolicyDocument }[] | undefined).map((p) => p.PolicyDocument),
        ),
      ];
      everyStatement = documents.flatMap((document) => document.Statement);
    });

    function functionOf(entry: string) {
      const fn = entry === 'lifecycle' ? synth.stack.sunsetSchedules.function : synth.stack.webSocketApi.functions[entry];
      if (!fn) throw new Error(`no function ${entry}`);
      return fn;
    }

    /** Statements of the inline and attached policies of a handler's role. */
    function statementsOf(entry: string): Statement[] {
      const roleId = logicalId(functionOf(entry).role!);
      return Object.values(resourcesOfType(synth.template, 'AWS::IAM::Policy'))
        .filter((policy) => asList(policy.Properties!.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
        .flatMap((policy) => (policy.Properties!.PolicyDocument as PolicyDocument).Statement);
    }

    const scansIn = (statement: Statement) => asList(statement.Action).filter((action) => actionMatches(action, 'dynamodb:Scan'));

    test.each(Handlers.map((spec) => spec.entry))('THEN the %s route handler may not call dynamodb:Scan, by name or by wildcard', (entry) => {
      for (const statement of statementsOf(entry)) {
        expect(statement.NotAction).toBeUndefined();
        expect(scansIn(statement)).toEqual([]);
      }
    });

    test("THEN the only Scan grants in the stack are the scheduled handlers' own", () => {
      expect(everyStatement.length).toBeGreaterThan(0);
      for (const statement of everyStatement) expect(statement.NotAction).toBeUndefined();
      const scheduled = new Set(ScheduledHandlers.flatMap((spec) => statementsOf(spec.entry)).map((statement) => JSON.stringify(statement)));
      const scanning = everyStatement.filter((statement) => scansIn(statement).length > 0).map((statement) => JSON.stringify(statement));
      expect(scanning.length).toBeGreaterThan(0);
      expect(scanning.filter((statement) => !scheduled.has(statement))).toEqual([]);
    });

    test('THEN no statement allows every DynamoDB action or every action', () => {
      const wide = everyStatement.flatMap((s) => asList(s.Action)).filter((a) => a === '*' || /^dynamodb:\*$/i.test(a));
      expect(wide).toEqual([]);
    });

    test.each(AllHandlers.map((spec) => [spec.entry, spec] as const))(
      'THEN %s may call exactly the DynamoDB actions routes.ts lists, on those tables only',
      (entry, spec) => {
        const granted: Record<string, string[]> = {};
        for (const statement of statementsOf(entry)) {
          const actions = asList(statement.Action).filter((action) => action.toLowerCase().startsWith('dynamodb:'));
          if (actions.length === 0) continue;
          expect(statement.Effect).toBe('Allow');
          for (const resource of asList(statement.Resource)) {
            // A table's own ARN: no `*`, no `/index/*`, no other table.
            const target = flatten(resource);
            granted[target] = [...(granted[target] ?? []), ...actions].sort();
          }
        }
        const expected: Record<string, string[]> = {};
        for (const [key, actions] of Object.entries(spec.tables) as [TableKey, readonly string[]][]) {
          expected[`{${logicalId(synth.stack.tables.table(key))}.Arn}`] = actions.map((action) => `dynamodb:${action}`).sort();
        }
        expect(granted).toEqual(expected);
      },
    );

    test('THEN function roles carry only the basic execution managed policy', () => {
      for (const spec of AllHandlers) {
        const role = resourcesOfType(synth.template, 'AWS::IAM::Role')[logicalId(functionOf(spec.entry).role!)]!;
        expect(asList(role.Properties!.ManagedPolicyArns).map(flatten)).toEqual([
          'arn:{AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
        ]);
        expect(role.Properties!.Policies).toBeUndefined();
      }
    });

    test.each(AllHandlers.map((spec) => [spec.entry, spec] as const))(
      'THEN %s may read the franking keyring exactly when routes.ts says so, and nothing else in Secrets Manager',
      (entry, spec) => {
        const secrets = statementsOf(entry).filter((s) => asList(s.Action).some((a) => a.toLowerCase().startsWith('secretsmanager:')));
        if (!spec.frankingKeys) {
          expect(secrets).toEqual([]);
          return;
        }
        expect(secrets).toHaveLength(1);
        expect(secrets[0]!.Effect).toBe('Allow');
        expect(asList(secrets[0]!.Action)).toEqual(['secretsmanager:GetSecretValue']);
        expect(asList(secrets[0]!.Resource)).toEqual([{ Ref: logicalId(synth.stack.frankingKeyring.secret) }]);
      },
    );

    test('THEN the send, fanout and report handlers are the ones that read the keyring, and no other statement touches Secrets Manager or KMS', () => {
      expect(
        AllHandlers.filter((spec) => spec.frankingKeys)
          .map((spec) => spec.entry)
          .sort(),
      ).toEqual(['fanout', 'report', 'send']);
      const keyringReaders = new Set(
        AllHandlers.filter((spec) => spec.frankingKeys)
          .flatMap((spec) => statementsOf(spec.entry))
          .map((s) => JSON.stringify(s)),
      );
      const touching = everyStatement.filter((s) => asList(s.Action).some((a) => /^(secretsmanager|kms):/i.test(a) || a === '*'));
      expect(touching.length).toBeGreaterThan(0);
      // The push construct's own: test/infra/push.test.ts pins each of them.
      const vapidSecret = JSON.stringify({ Ref: logicalId(synth.stack.push.vapidSecret) });
      const others = touching.filter((s) => !keyringReaders.has(JSON.stringify(s)));
      expect(others.filter((s) => JSON.stringify(s.Resource) !== vapidSecret)).toEqual([]);
    });

    test('THEN the lifecycle handler may Scan and BatchWriteItem the reports table, to purge it', () => {
      const reportsArn = `{${logicalId(synth.stack.tables.table('reports'))}.Arn}`;
      const actions = statementsOf('lifecycle')
        .filter((s) => asList(s.Resource).some((resource) => flatten(resource) === reportsArn))
        .flatMap((s) => asList(s.Action));
      expect(actions.sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:Scan']);
    });

    test.each(AllHandlers.map((spec) => [spec.entry, spec] as const))(
      'THEN %s may take exactly the S3 actions routes.ts lists, on the attachments bucket only, and knows its name only then',
      (entry, spec) => {
        const bucketId = logicalId(synth.stack.attachmentsBucket.bucket);
        const granted: Record<string, string[]> = {};
        for (const statement of statementsOf(entry)) {
          const actions = asList(statement.Action).filter((action) => action.toLowerCase().startsWith('s3:'));
          if (actions.length === 0) continue;
          expect(statement.Effect).toBe('Allow');
          expect(statement.Condition).toBeUndefined();
          for (const resource of asList(statement.Resource)) {
            const target = flatten(resource);
            granted[target] = [...(granted[target] ?? []), ...actions].sort();
          }
        }
        const objectActions = (spec.attachments ?? []).filter((a) => a !== 's3:ListBucket');
        const expected: Record<string, string[]> = {};
        if (objectActions.length > 0) expected[`{${bucketId}.Arn}/*`] = [...objectActions].sort();
        if (spec.attachments?.includes('s3:ListBucket')) expected[`{${bucketId}.Arn}`] = ['s3:ListBucket'];
        expect(granted).toEqual(expected);
        const variables = (
          resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(functionOf(entry))]!.Properties!.Environment as {
            Variables: Record<string, unknown>;
          }
        ).Variables;
        if (spec.attachments) expect(variables.EBB_ATTACHMENTS_BUCKET).toEqual({ Ref: bucketId });
        else expect(variables.EBB_ATTACHMENTS_BUCKET).toBeUndefined();
      },
    );

    test('THEN upload presigns with PutObject alone, download with GetObject (and ListBucket, for 404s), and only the purge deletes', () => {
      const grants = Object.fromEntries(AllHandlers.filter((spec) => spec.attachments).map((spec) => [spec.entry, [...spec.attachments!].sort()]));
      expect(grants).toEqual({
        'attachment-upload': ['s3:PutObject'],
        'attachment-download': ['s3:GetObject', 's3:ListBucket'],
        lifecycle: ['s3:DeleteObject', 's3:ListBucket'],
      });
      const s3Statements = everyStatement.filter((s) => asList(s.Action).some((a) => a.toLowerCase().startsWith('s3:') || a === '*'));
      for (const statement of s3Statements) for (const action of asList(statement.Action)) expect(action).not.toMatch(/\*/);
    });

    test.each(AllHandlers.map((spec) => [spec.entry, spec] as const))(
      'THEN %s may manage connections exactly when routes.ts says so, on this API stage only',
      (entry, spec) => {
        const apiId = logicalId(synth.stack.webSocketApi.api);
        const executeApi = statementsOf(entry).filter((s) => asList(s.Action).some((a) => a.toLowerCase().startsWith('execute-api:')));
        if (!spec.manageConnections) {
          expect(executeApi).toEqual([]);
          return;
        }
        expect(executeApi).toHaveLength(1);
        expect(asList(executeApi[0]!.Action)).toEqual(['execute-api:ManageConnections']);
        expect(asList(executeApi[0]!.Resource).map(flatten)).toEqual([
          `arn:{AWS::Partition}:execute-api:{AWS::Region}:{AWS::AccountId}:{${apiId}}/prod/*/@connections/*`,
        ]);
      },
    );
  });
});
