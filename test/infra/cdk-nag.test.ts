import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_CONFIG } from '../../protocol/config';
import { synthWithoutBundling } from './fixture';

/**
 * Every AwsSolutions finding the stack acknowledges, each with its reason next to the construct in
 * infra/. A new finding fails the first test; a new acknowledgement fails the last, so it gets reviewed.
 */
const ACKNOWLEDGED = [
  'AwsSolutions-APIG4',
  'AwsSolutions-IAM5[Resource::<AttachmentsBucket134755D7.Arn>/*]',
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
  'AwsSolutions-IAM5[Resource::<SunsetLifecycleFunction0B7F3E43.Arn>:*]',
  'AwsSolutions-IAM5[Resource::<PushSetupFunctionBF1E0F80.Arn>:*]',
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<WebSocketApi273F6915>/prod/*/@connections/*]',
  'AwsSolutions-L1',
  'AwsSolutions-S1',
  'AwsSolutions-SMG4',
  'AwsSolutions-SQS3',
];

/** APNs and FCM on: the platform applications, their credential reads and endpoint grants exist too. */
const PUSH_PLATFORMS = {
  ...DEFAULT_CONFIG,
  push: {
    vapidSubject: 'mailto:ops@example.org',
    apns: { secretName: 'ebb/apns', keyId: 'ABCDE12345', teamId: 'VWXYZ67890', bundleId: 'org.example.chat', sandbox: false },
    fcm: { secretName: 'ebb/fcm' },
  },
};

/** A sunset far ahead, so the scheduler role and its schedules exist too. */
const PURGE_SCHEDULED = {
  ...DEFAULT_CONFIG,
  sunset: { ...DEFAULT_CONFIG.sunset, shutdownAt: '2099-01-01T00:00:00Z', purgeAt: '2099-02-01T00:00:00Z' },
};

/** Rule ids acknowledged anywhere under `scope`, each with the reasons given for it. */
function acknowledgements(scope: Stack): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^annotation::/i, '');
        found.set(rule, [...(found.get(rule) ?? []), reason]);
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['cdk.json', undefined],
    ['a scheduled sunset with a purge', PURGE_SCHEDULED],
    ['APNs and FCM configured', PUSH_PLATFORMS],
  ])('GIVEN the stack synthesized from %s THEN it has no unacknowledged error or warning', (_label, ebb) => {
    const { stack } = synthWithoutBundling(ebb === undefined ? {} : { ebb });
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  test('GIVEN a resource the stack does not acknowledge THEN the same check reports it, so a clean report means something', () => {
    const stack = new Stack(new App());
    new sns.Topic(stack, 'Plain');
    const rules = new AwsSolutionsChecks(stack).validateScope(stack).violations.map((v) => v.ruleName);
    expect(rules).toContain('AwsSolutions-SNS3');
  });

  test('GIVEN the stack with a scheduled sunset THEN it acknowledges exactly the reviewed rules, each with a reason', () => {
    const { stack } = synthWithoutBundling({ ebb: PURGE_SCHEDULED });
    const found = acknowledgements(stack);
    expect([...found.keys()].sort()).toEqual([...ACKNOWLEDGED].sort());
    for (const reasons of found.values()) for (const reason of reasons) expect(reason.length).toBeGreaterThan(40);
  });

  test('GIVEN APNs and FCM configured THEN the only rules added are the wildcards of the platform endpoints and the named credential secrets', () => {
    const { stack } = synthWithoutBundling({ ebb: PUSH_PLATFORMS });
    const added = [...acknowledgements(stack).keys()].filter((rule) => !ACKNOWLEDGED.includes(rule)).sort();
    expect(added).toEqual([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:ebb/apns-??????]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:ebb/fcm-??????]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:endpoint/APNS/Ebb-apns/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:endpoint/GCM/Ebb-fcm/*]',
    ]);
  });
});
