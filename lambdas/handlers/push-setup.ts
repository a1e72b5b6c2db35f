import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreatePlatformApplicationCommand,
  DeletePlatformApplicationCommand,
  NotFoundException,
  SetPlatformApplicationAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { generateVapidKeys, parseVapidKeys } from '../adapters/vapid-keys';

/**
 * The deploy-time setup of push wake-ups (ARCH §6.13), run by CloudFormation through the custom resource provider
 * of infra/push.ts, so that no key or credential ever passes through the template:
 * - `Custom::EbbVapidKeys` makes the VAPID key pair once, with node:crypto, and stores it in the stack's secret;
 *   it answers only the public key. A later update keeps the pair: a new one would orphan every subscription.
 * - `Custom::EbbPlatformApplication` makes the SNS platform application of APNs or FCM from the credential it
 *   reads from the operator's secret, updates it in place, and deletes it with the stack.
 */

export interface SetupClients {
  readonly secrets: Pick<SecretsManagerClient, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
}

export interface SetupResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

let clients: SetupClients | undefined;

export async function handler(event: CloudFormationCustomResourceEvent): Promise<SetupResult> {
  clients ??= { secrets: new SecretsManagerClient({}), sns: new SNSClient({}) };
  return setup(event, clients);
}

/** @throws Error naming the resource type or property at fault; never a secret's value. */
export async function setup(event: CloudFormationCustomResourceEvent, c: SetupClients): Promise<SetupResult> {
  const props = event.ResourceProperties as unknown as Record<string, string>;
  if (event.ResourceType === 'Custom::EbbVapidKeys') {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const secretId = required(props, 'SecretId');
    const stored = await c.secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    let keys;
    try {
      keys = parseVapidKeys(stored.SecretString ?? '');
    } catch {
      // The secret still holds the placeholder CloudFormation generated: this is the first deploy.
      keys = generateVapidKeys();
      await c.secrets.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(keys) }));
    }
    return { PhysicalResourceId: secretId, Data: { PublicKey: keys.publicKey } };
  }
  if (event.ResourceType === 'Custom::EbbPlatformApplication') {
    if (event.RequestType === 'Delete') {
      if (event.PhysicalResourceId.startsWith('arn:')) {
        await c.sns.send(new DeletePlatformApplicationCommand({ PlatformApplicationArn: event.PhysicalResourceId })).catch((error: unknown) => {
          if (!(error instanceof NotFoundException)) throw error;
        });
      }
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const name = required(props, 'Name');
    const platform = required(props, 'Platform');
    const attributes = await platformAttributes(c, props);
    const old = event.RequestType === 'Update' ? (event.OldResourceProperties as Record<string, string>) : undefined;
    if (event.RequestType === 'Update' && old?.Name === name && old.Platform === platform) {
      await c.sns.send(new SetPlatformApplicationAttributesCommand({ PlatformApplicationArn: event.PhysicalResourceId, Attributes: attributes }));
      return { PhysicalResourceId: event.PhysicalResourceId, Data: { Arn: event.PhysicalResourceId } };
    }
    // A new name or platform is a new application; CloudFormation then deletes the old one.
    const created = await c.sns.send(new CreatePlatformApplicationCommand({ Name: name, Platform: platform, Attributes: attributes }));
    if (!created.PlatformApplicationArn) throw new Error('CreatePlatformApplication answered no ARN');
    return { PhysicalResourceId: created.PlatformApplicationArn, Data: { Arn: created.PlatformApplicationArn } };
  }
  throw new Error(`push setup: unknown resource type ${event.ResourceType}`);
}

/**
 * SNS platform application attributes: the credential from the operator's secret (an APNs `.p8` signing key, or
 * an FCM service account's JSON key), and for APNs token authentication its key id, team and bundle.
 */
async function platformAttributes(c: SetupClients, props: Record<string, string>): Promise<Record<string, string>> {
  const secret = await c.secrets.send(new GetSecretValueCommand({ SecretId: required(props, 'CredentialSecret') }));
  if (!secret.SecretString) throw new Error(`push setup: secret ${props.CredentialSecret} has no string value`);
  const attributes: Record<string, string> = { PlatformCredential: secret.SecretString };
  if (props.KeyId) attributes.PlatformPrincipal = props.KeyId;
  if (props.TeamId) attributes.ApplePlatformTeamID = props.TeamId;
  if (props.BundleId) attributes.ApplePlatformBundleID = props.BundleId;
  return attributes;
}

function required(props: Record<string, string>, name: string): string {
  const value = props[name];
  if (typeof value !== 'string' || value === '') throw new Error(`push setup: property ${name} is required`);
  return value;
}
