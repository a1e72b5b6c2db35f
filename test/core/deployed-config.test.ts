import { parseDeployedConfig } from '../../lambdas/adapters/deployed-config';
import { DEFAULT_CONFIG, resolveConfig } from '../../protocol/config';

describe('GIVEN EBB_CONFIG as infra writes it', () => {
  const resolved = resolveConfig({
    retentionDays: 7,
    rateLimits: { sendPerMinute: 30 },
    maxAttachmentBytes: 1024,
    webOrigins: ['https://chat.example.org', 'http://127.0.0.1:8080'],
    sunset: { signupsCloseAt: '2027-01-01T00:00:00Z', noticeUrl: 'https://example.org/sunset', message: 'bye' },
    push: {
      vapidSubject: 'mailto:ops@example.org',
      apns: { secretName: 'ebb/apns', keyId: 'ABCDE12345', teamId: 'VWXYZ67890', bundleId: 'org.example.chat', sandbox: true },
      fcm: { secretName: 'ebb/fcm' },
    },
  });

  test('THEN the Lambda reads back exactly the resolved config', () => {
    expect(parseDeployedConfig(JSON.stringify(resolved))).toEqual(resolved);
  });

  test('THEN a partial config takes the defaults, as resolveConfig gives them', () => {
    expect(parseDeployedConfig(JSON.stringify({ sunset: { message: 'bye' } }))).toEqual(resolveConfig({ sunset: { message: 'bye' } }));
    expect(parseDeployedConfig('{}')).toEqual(DEFAULT_CONFIG);
  });

  test.each([
    ['{"retentionDays":"30"}', 'EBB_CONFIG.retentionDays'],
    ['{"maxQueueDepth":1.5}', 'EBB_CONFIG.maxQueueDepth'],
    ['{"rateLimits":{"sendPerMinute":null}}', 'EBB_CONFIG.rateLimits.sendPerMinute'],
    ['{"rateLimits":[]}', 'EBB_CONFIG.rateLimits'],
    ['{"sunset":{"shutdownAt":1767225600000}}', 'EBB_CONFIG.sunset.shutdownAt'],
    ['{"sunset":{"unknown":null}}', 'EBB_CONFIG.sunset.unknown'],
    ['{"retention":30}', 'EBB_CONFIG.retention'],
    ['{"push":{"apns":"ebb/apns"}}', 'EBB_CONFIG.push.apns'],
    ['{"push":{"vapidSubject":{}}}', 'EBB_CONFIG.push.vapidSubject'],
    ['{"webOrigins":"https://a.example"}', 'EBB_CONFIG.webOrigins'],
    ['{"webOrigins":[1]}', 'EBB_CONFIG.webOrigins'],
    ['{"webOrigins":{}}', 'EBB_CONFIG.webOrigins'],
  ])('WHEN it is %s THEN the first invocation fails naming %s', (json, key) => {
    expect(() => parseDeployedConfig(json)).toThrow(`invalid Lambda environment: ${key}`);
  });
});
