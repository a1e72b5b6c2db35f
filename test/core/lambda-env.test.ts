import { portsFromEnv } from '../../lambdas/adapters/env';
import { frankingKeyring } from '../../lambdas/adapters/franking-keys';
import { gatewayNotifier } from '../../lambdas/adapters/port-adapters';
import { wakeupQueue } from '../../lambdas/adapters/sqs-wakeups';
import type { PortAdapters } from '../../lambdas/adapters/wiring';

/** The route `send` wires, as far as the environment's URLs and the keyring's ARN go. */
const ADAPTERS: PortAdapters = { notifier: gatewayNotifier, frankingKeys: frankingKeyring, wakeups: wakeupQueue };
const BASE = { EBB_CONFIG: '{}', AWS_REGION: 'eu-west-1' };

describe('GIVEN a Lambda environment', () => {
  test.each([
    ['EBB_CALLBACK_URL', 'not a url'],
    ['EBB_CALLBACK_URL', 'https://'],
    ['EBB_WAKEUP_QUEUE_URL', 'sqs.eu-west-1.amazonaws.com/123456789012/wakeups'],
  ])('WHEN %s is %j THEN the first invocation fails naming that variable', (name, value) => {
    expect(() => portsFromEnv(ADAPTERS, { ...BASE, [name]: value })).toThrow(`invalid Lambda environment: ${name}`);
  });

  test('WHEN the URLs parse and the keyring is named THEN the ports build, the keyring and queue from their own adapters', () => {
    // The last test of the file: a successful parse is kept for the rest of the container's life.
    const ports = portsFromEnv(ADAPTERS, {
      ...BASE,
      EBB_CALLBACK_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      EBB_WAKEUP_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/wakeups',
      EBB_FRANKING_SECRET: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ebb-franking',
    });
    // Built on first use, without a request: the adapters read the ARN and the URL the environment handed over.
    expect(typeof ports.frankingKeys.current).toBe('function');
    expect(typeof ports.wakeups.enqueue).toBe('function');
    expect(typeof ports.notifier.push).toBe('function');
  });
});
