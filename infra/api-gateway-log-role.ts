import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface ApiGatewayLogRoleProps {
  /**
   * Whether the role and the account setting stay when the stack goes. Removing them would break
   * logging for every other API in the account and region that relies on the setting.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The account-and-region setting that lets API Gateway write to CloudWatch Logs. WebSocket stages
 * refuse access logging without it ("CloudWatch Logs role ARN must be set in account settings").
 */
export class ApiGatewayLogRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ApiGatewayLogRoleProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'Lets API Gateway write execution and access logs to CloudWatch Logs',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
    });
    this.role.applyRemovalPolicy(removalPolicy);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "The AWS-documented policy for the account-wide API Gateway logging role: it serves every API in the account and region, so it cannot be scoped to this stack's log groups.",
    });
    const account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    account.applyRemovalPolicy(removalPolicy);
    this.node.defaultChild = account;
  }
}
