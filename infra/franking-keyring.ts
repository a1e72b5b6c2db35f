import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface EbbFrankingKeyringProps {
  /**
   * What happens to the keyring when it leaves the stack. Reports are verified with it, so it should
   * live as long as the reports table does.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The franking keyring (ARCH §9.3): the HMAC keys with which the server binds each message's franking
 * tag, and with which it later verifies abuse reports. One Secrets Manager secret whose first version
 * CloudFormation generates in the flat format of lambdas/adapters/franking-keys.ts
 * (`{ "current": "k1", "k1": "<64 characters>" }`); `ebb-admin franking rotate` adds keys later.
 *
 * Encrypted with the AWS-managed `aws/secretsmanager` key: only this account's IAM principals can use
 * it, and who may read the keyring is already decided by the secret's IAM grants (two functions), so a
 * customer-managed key would add a key policy to administer and a monthly cost without narrowing that.
 */
export class EbbFrankingKeyring extends Construct {
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: EbbFrankingKeyringProps = {}) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        'ebb franking keyring: HMAC keys that tag messages for verifiable abuse reports ({"current":"k<n>","k<n>":"…","retired":{…}}). Rotate with `ebb-admin franking rotate`.',
      generateSecretString: {
        // Flat, because generateStringKey can only add a top-level member.
        secretStringTemplate: JSON.stringify({ current: 'k1' }),
        generateStringKey: 'k1',
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation must keep retired keys for retentionDays inside the same value, so it is an operator action (`ebb-admin franking rotate`), not a Secrets Manager rotation Lambda that replaces the value.',
    });
  }

  /** Lets `grantee` read the keyring: `secretsmanager:GetSecretValue` on this secret and nothing else. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    // Not Secret.grantRead, which adds DescribeSecret: the handlers only ever read the value.
    return iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns: [this.secret.secretArn] });
  }
}
