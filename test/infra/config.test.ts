import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LambdaEnv } from '../../lambdas/routes';
import { ConfigError, DEFAULT_CONFIG } from '../../protocol/config';
import { REPO_ROOT, cdkJsonContext, resourcesOfType, synthWithoutBundling } from './fixture';

const sunset = (dates: Partial<typeof DEFAULT_CONFIG.sunset>) => ({ sunset: { ...DEFAULT_CONFIG.sunset, ...dates } });

describe('config from context.ebb', () => {
  test('GIVEN cdk.json THEN its ebb context is the documented default config', () => {
    expect(cdkJsonContext().ebb).toEqual(DEFAULT_CONFIG);
  });

  test.each<[string, unknown, string]>([
    [
      'a readOnlyAt before signupsCloseAt',
      sunset({ signupsCloseAt: '2027-02-01T00:00:00Z', readOnlyAt: '2027-01-01T00:00:00Z' }),
      'ebb.sunset.readOnlyAt: must not be before signupsCloseAt',
    ],
    ['retentionDays 0', { retentionDays: 0 }, 'ebb.retentionDays: must be at least 1'],
    ['a fractional maxQueueDepth', { maxQueueDepth: 1.5 }, 'ebb.maxQueueDepth:'],
    ['a strangerQueuePercent of 0 (no one could be written to first)', { strangerQueuePercent: 0 }, 'ebb.strangerQueuePercent: must be at least 1'],
    ['maxDevicesPerAccount 0', { maxDevicesPerAccount: 0 }, 'ebb.maxDevicesPerAccount: must be at least 1'],
    [
      'maxDevicesPerAccount past the devices an account may have at once',
      { maxDevicesPerAccount: 17 },
      'ebb.maxDevicesPerAccount: must be at most 16',
    ],
    ['a maxGroupSize of 1 (a group needs two members)', { maxGroupSize: 1 }, 'ebb.maxGroupSize: must be at least 2'],
    [
      'a sendCopiesPerMinute below one full fanout frame',
      { rateLimits: { sendCopiesPerMinute: 100 } },
      'ebb.rateLimits.sendCopiesPerMinute: must be at least 256',
    ],
    ['a maxAttachmentBytes of 0', { maxAttachmentBytes: 0 }, 'ebb.maxAttachmentBytes: must be at least 1'],
    ['a maxAttachmentBytes past what one S3 PUT carries', { maxAttachmentBytes: 5 * 1024 ** 3 }, 'ebb.maxAttachmentBytes: must be at most'],
    ['a web origin with a path', { webOrigins: ['https://chat.example.org/app'] }, 'ebb.webOrigins.0: must be an origin'],
    ['a wildcard web origin', { webOrigins: ['*'] }, 'ebb.webOrigins.0: must be an origin'],
    ['a web origin with a trailing slash', { webOrigins: ['https://chat.example.org/'] }, 'ebb.webOrigins.0: must be an origin'],
    ['a web origin named twice', { webOrigins: ['https://a.example', 'https://a.example'] }, 'ebb.webOrigins: must not name an origin twice'],
    ['webOrigins as one string', { webOrigins: 'https://a.example' }, 'ebb.webOrigins:'],
    ['an unknown key', { retentionDayz: 3 }, 'unknown key retentionDayz'],
    ['a VAPID subject over http', { push: { vapidSubject: 'http://example.org' } }, 'ebb.push.vapidSubject: must be a mailto: or https: URI'],
    ['an FCM platform without its secret', { push: { fcm: {} } }, 'ebb.push.fcm.secretName'],
    [
      'an APNs key id that is not one',
      { push: { apns: { secretName: 'ebb/apns', keyId: 'key', teamId: 'ABCDE12345', bundleId: 'org.example.chat', sandbox: false } } },
      'ebb.push.apns.keyId: must be the 10-character APNs key id',
    ],
    ['a purgeAt without shutdownAt', sunset({ purgeAt: '2027-01-01T00:00:00Z' }), 'ebb.sunset.purgeAt: needs shutdownAt'],
  ])('GIVEN %s WHEN the stack is synthesized THEN it fails with a ConfigError naming the key', (_label, ebb, message) => {
    let thrown: unknown;
    try {
      synthWithoutBundling({ ebb });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(message);
  });

  test('GIVEN the ebb context as JSON text, as `cdk synth -c ebb=…` passes it, THEN it is parsed, and text that is not JSON names the key', () => {
    expect(synthWithoutBundling({ ebb: JSON.stringify({ retentionDays: 7 }) }).stack.config.retentionDays).toBe(7);
    expect(() => synthWithoutBundling({ ebb: '{retentionDays: 7' })).toThrow(new ConfigError('ebb: must be an object (or, with -c, its JSON)'));
  });

  test('GIVEN a partial ebb context WHEN synthesized THEN handlers get it merged over the defaults', () => {
    const { stack, template } = synthWithoutBundling({ ebb: { retentionDays: 7, rateLimits: { sendPerMinute: 30 } } });
    const expected = { ...DEFAULT_CONFIG, retentionDays: 7, rateLimits: { ...DEFAULT_CONFIG.rateLimits, sendPerMinute: 30 } };
    expect(stack.config).toEqual(expected);
    // Every ebb function; the custom resource framework's own (CDK's code, not ebb's) reads no config.
    const functions = Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).filter(([id]) => !id.includes('Providerframework'));
    expect(functions.length).toBeGreaterThan(20);
    for (const [, fn] of functions) {
      expect((fn.Properties!.Environment as { Variables: Record<string, string> }).Variables[LambdaEnv.config]).toBe(JSON.stringify(expected));
    }
  });
});

describe('infra/app.ts, the cdk.json app', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'ebb-app-'));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  /** Runs the app the way the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR), without any AWS_* variable. */
  function runApp(context: Record<string, unknown>) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    return spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['infra/app.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    });
  }

  test('GIVEN an invalid ebb context WHEN the app runs THEN it exits 1 with one line naming the key', () => {
    const result = runApp({ ebb: { retentionDays: 0 }, 'aws:cdk:bundling-stacks': [] });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ebb.retentionDays: must be at least 1');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(outdir, 'Ebb.template.json'))).toBe(false);
  });

  test('GIVEN cdk.json context and no AWS credentials WHEN the app runs THEN it writes the Ebb template', () => {
    const result = runApp({ ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const template = JSON.parse(readFileSync(path.join(outdir, 'Ebb.template.json'), 'utf8'));
    expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['WebSocketUrl', 'CallbackUrl', 'CiphertextQueueTableName']));
  }, 60_000);
});
