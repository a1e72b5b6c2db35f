import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  CreatePlatformApplicationCommand,
  DeletePlatformApplicationCommand,
  NotFoundException,
  SetPlatformApplicationAttributesCommand,
} from '@aws-sdk/client-sns';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { parseVapidKeys } from '../../lambdas/adapters/vapid-keys';
import { setup, type SetupClients } from '../../lambdas/handlers/push-setup';

const P8 = '-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n-----END PRIVATE KEY-----';
const APP_ARN = 'arn:aws:sns:eu-west-1:123456789012:app/APNS/Ebb-apns';

/** Secrets Manager and SNS as fakes at the client boundary: every command recorded, secrets in a map. */
function fakes(secrets: Record<string, string>, snsError?: Error) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const clients: SetupClients = {
    secrets: {
      send: (async (command: { input: Record<string, unknown> }) => {
        calls.push({ name: command.constructor.name, input: command.input });
        const id = String(command.input.SecretId);
        if (command instanceof GetSecretValueCommand) return { SecretString: secrets[id] };
        if (command instanceof PutSecretValueCommand) secrets[id] = String(command.input.SecretString);
        return {};
      }) as never,
    },
    sns: {
      send: (async (command: { input: Record<string, unknown> }) => {
        calls.push({ name: command.constructor.name, input: command.input });
        if (snsError) throw snsError;
        if (command instanceof CreatePlatformApplicationCommand)
          return { PlatformApplicationArn: `arn:aws:sns:eu-west-1:123456789012:app/${String(command.input.Platform)}/${String(command.input.Name)}` };
        return {};
      }) as never,
    },
  };
  return { clients, calls, secrets };
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  resourceType: string,
  props: Record<string, string>,
  extra: { PhysicalResourceId?: string; OldResourceProperties?: Record<string, string> } = {},
): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ResourceType: resourceType,
    ResourceProperties: { ServiceToken: 'token', ...props },
    ServiceToken: 'token',
    ResponseURL: 'https://example.invalid',
    StackId: 'stack',
    RequestId: 'request',
    LogicalResourceId: 'Logical',
    ...extra,
  } as CloudFormationCustomResourceEvent;
}

describe('GIVEN the VAPID key pair resource', () => {
  test('WHEN created over the placeholder CloudFormation generated THEN a P-256 pair is stored and only its public half is answered', async () => {
    const f = fakes({ vapid: 'placeholder-from-cloudformation' });
    const result = await setup(event('Create', 'Custom::EbbVapidKeys', { SecretId: 'vapid' }), f.clients);
    const stored = parseVapidKeys(f.secrets.vapid!);
    expect(result).toEqual({ PhysicalResourceId: 'vapid', Data: { PublicKey: stored.publicKey } });
    expect(JSON.stringify(result)).not.toContain(stored.privateKey);
  });

  test('WHEN updated (a redeploy) THEN the stored pair is kept: subscriptions stay valid', async () => {
    const f = fakes({ vapid: 'placeholder' });
    const first = await setup(event('Create', 'Custom::EbbVapidKeys', { SecretId: 'vapid' }), f.clients);
    const stored = f.secrets.vapid;
    const again = await setup(event('Update', 'Custom::EbbVapidKeys', { SecretId: 'vapid' }, { PhysicalResourceId: 'vapid' }), f.clients);
    expect(again).toEqual(first);
    expect(f.secrets.vapid).toBe(stored);
    expect(f.calls.filter((c) => c.name === 'PutSecretValueCommand')).toHaveLength(1);
  });

  test('WHEN deleted THEN nothing is called: the secret goes with its own removal policy', async () => {
    const f = fakes({});
    expect(await setup(event('Delete', 'Custom::EbbVapidKeys', { SecretId: 'vapid' }, { PhysicalResourceId: 'vapid' }), f.clients)).toEqual({
      PhysicalResourceId: 'vapid',
    });
    expect(f.calls).toEqual([]);
  });
});

describe('GIVEN a platform application resource', () => {
  const apns = {
    Name: 'Ebb-apns',
    Platform: 'APNS',
    CredentialSecret: 'ebb/apns',
    KeyId: 'ABCDE12345',
    TeamId: 'VWXYZ67890',
    BundleId: 'org.example.chat',
  };

  test('WHEN created THEN the credential is read from the named secret into the application, and only the ARN is answered', async () => {
    const f = fakes({ 'ebb/apns': P8 });
    const result = await setup(event('Create', 'Custom::EbbPlatformApplication', apns), f.clients);
    expect(result).toEqual({ PhysicalResourceId: APP_ARN, Data: { Arn: APP_ARN } });
    expect(f.calls.find((c) => c.name === 'CreatePlatformApplicationCommand')!.input).toEqual({
      Name: 'Ebb-apns',
      Platform: 'APNS',
      Attributes: {
        PlatformCredential: P8,
        PlatformPrincipal: 'ABCDE12345',
        ApplePlatformTeamID: 'VWXYZ67890',
        ApplePlatformBundleID: 'org.example.chat',
      },
    });
    expect(JSON.stringify(result)).not.toContain('PRIVATE KEY');
  });

  test('WHEN updated with the same name and platform THEN its attributes are set in place; with a new name THEN a new one is made', async () => {
    const f = fakes({ 'ebb/apns': P8 });
    const same = await setup(
      event('Update', 'Custom::EbbPlatformApplication', apns, { PhysicalResourceId: APP_ARN, OldResourceProperties: apns }),
      f.clients,
    );
    expect(same.PhysicalResourceId).toBe(APP_ARN);
    expect(f.calls.some((c) => c.name === SetPlatformApplicationAttributesCommand.name)).toBe(true);
    const renamed = await setup(
      event('Update', 'Custom::EbbPlatformApplication', { ...apns, Name: 'Ebb2-apns' }, { PhysicalResourceId: APP_ARN, OldResourceProperties: apns }),
      f.clients,
    );
    expect(renamed.PhysicalResourceId).toBe('arn:aws:sns:eu-west-1:123456789012:app/APNS/Ebb2-apns');
  });

  test('WHEN deleted THEN the application is deleted, and one already gone is fine', async () => {
    const f = fakes({});
    await setup(event('Delete', 'Custom::EbbPlatformApplication', apns, { PhysicalResourceId: APP_ARN }), f.clients);
    expect(f.calls).toEqual([{ name: DeletePlatformApplicationCommand.name, input: { PlatformApplicationArn: APP_ARN } }]);
    const gone = fakes({}, new NotFoundException({ message: 'gone', $metadata: {} }));
    await expect(setup(event('Delete', 'Custom::EbbPlatformApplication', apns, { PhysicalResourceId: APP_ARN }), gone.clients)).resolves.toEqual({
      PhysicalResourceId: APP_ARN,
    });
  });

  test('WHEN the named secret has no string value THEN it fails naming the secret, never a value', async () => {
    const f = fakes({});
    await expect(setup(event('Create', 'Custom::EbbPlatformApplication', apns), f.clients)).rejects.toThrow('secret ebb/apns has no string value');
  });

  test('WHEN the resource type is unknown THEN it fails naming it', async () => {
    await expect(setup(event('Create', 'Custom::Other', {}), fakes({}).clients)).rejects.toThrow('unknown resource type Custom::Other');
  });
});
