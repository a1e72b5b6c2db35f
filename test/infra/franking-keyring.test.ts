import { App, Stack } from 'aws-cdk-lib';
import { Handlers, LambdaEnv } from '../../lambdas/routes';
import { DEFAULT_CONFIG } from '../../protocol/config';
import { EbbHandlerFunction } from '../../infra/handler-function';
import { StackOutputs } from '../../infra/outputs';
import { EbbTables } from '../../infra/tables';
import { logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

describe('EbbFrankingKeyring', () => {
  describe('GIVEN the stack synthesized from cdk.json', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling();
    });

    test('THEN there is one keyring secret (beside the VAPID key pair of push), generated in the flat keyring format of lambdas/adapters/franking-keys.ts', () => {
      expect(Object.keys(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')).sort()).toEqual(
        [logicalId(synth.stack.frankingKeyring.secret), logicalId(synth.stack.push.vapidSecret)].sort(),
      );
      synth.template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ current: 'k1' }),
          GenerateStringKey: 'k1',
          PasswordLength: 64,
          ExcludePunctuation: true,
        },
      });
    });

    test('THEN the secret says what it is and how to rotate it, under the AWS-managed key, with a generated name', () => {
      const secret = resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')[logicalId(synth.stack.frankingKeyring.secret)]!.Properties!;
      expect(secret.Description).toMatch(/franking keyring/);
      expect(secret.Description).toContain('ebb-admin franking rotate');
      // No KmsKeyId: Secrets Manager encrypts with aws/secretsmanager.
      expect(secret.KmsKeyId).toBeUndefined();
      // CloudFormation names it, so two stacks can share an account.
      expect(secret.Name).toBeUndefined();
    });

    test('THEN, without a purgeAt date, the secret is retained like the tables', () => {
      synth.template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    test('THEN its ARN is the FrankingSecretArn output', () => {
      expect(StackOutputs.frankingSecretArn).toBe('FrankingSecretArn');
      synth.template.hasOutput('FrankingSecretArn', { Value: { Ref: logicalId(synth.stack.frankingKeyring.secret) } });
    });

    test('THEN exactly the functions whose spec says frankingKeys get its ARN as EBB_FRANKING_SECRET', () => {
      const secretRef = { Ref: logicalId(synth.stack.frankingKeyring.secret) };
      const functions = resourcesOfType(synth.template, 'AWS::Lambda::Function');
      const withSecret = Object.entries(functions)
        .filter(([, fn]) => (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables[LambdaEnv.frankingSecret] !== undefined)
        .map(([id, fn]) => [id, (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables[LambdaEnv.frankingSecret]]);
      const { send, fanout, report } = synth.stack.webSocketApi.functions;
      expect(Object.fromEntries(withSecret)).toEqual({
        [logicalId(send!)]: secretRef,
        [logicalId(fanout!)]: secretRef,
        [logicalId(report!)]: secretRef,
      });
    });
  });

  describe('GIVEN a sunset with a purgeAt date', () => {
    test('WHEN synthesized THEN the secret is destroyed with the stack, like the tables', () => {
      const ebb = { ...DEFAULT_CONFIG, sunset: { ...DEFAULT_CONFIG.sunset, shutdownAt: '2099-01-01T00:00:00Z', purgeAt: '2099-02-01T00:00:00Z' } };
      const { template } = synthWithoutBundling({ ebb });
      template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
      template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    });
  });

  describe('GIVEN a handler whose spec reads the keyring', () => {
    test('WHEN it is built without a keyring THEN construction fails naming the handler', () => {
      const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
      const tables = new EbbTables(stack, 'Tables').tables;
      const spec = Handlers.find((candidate) => candidate.entry === 'report')!;
      expect(spec.frankingKeys).toBe(true);
      expect(() => new EbbHandlerFunction(stack, 'Report', { spec, tables, config: DEFAULT_CONFIG })).toThrow(
        /handler report reads the franking keyring, which was not given/,
      );
    });
  });
});
