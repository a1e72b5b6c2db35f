import { CreatePlatformEndpointCommand, InvalidParameterException, SNSClient, ThrottledException } from '@aws-sdk/client-sns';
import { generateVAPIDKeys, getVapidHeaders } from 'web-push';
import { SnsMobilePush, wakeMessage } from '../../lambdas/adapters/sns-push';
import { parseVapidKeys } from '../../lambdas/adapters/vapid-keys';
import { MAX_WAKE_TTL_SECONDS, WAKE_PAYLOAD, WAKE_TOPIC, WebPushSender, resultOfStatus } from '../../lambdas/adapters/web-push';
import { LOCAL_PLATFORM_APPLICATIONS, PushReceiver } from '../../local/push-receiver';

const vapid = generateVAPIDKeys();
const SUBJECT = 'mailto:operator@example.org';
const APNS_TOKEN = 'ab'.repeat(32);
const FCM_TOKEN = 'fcm-token_'.repeat(8);

let receiver: PushReceiver;
beforeEach(async () => {
  receiver = await PushReceiver.start({ vapidPublicKey: vapid.publicKey });
});
afterEach(() => receiver.close());

const webSender = (keys = vapid, ttlSeconds = 3600) => new WebPushSender({ vapidKeys: async () => keys, subject: SUBJECT, ttlSeconds });
const sns = () =>
  new SNSClient({ endpoint: receiver.snsEndpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

describe('Web Push wake-ups, as the local push service receives them', () => {
  test('GIVEN a subscription WHEN woken THEN the service sees VAPID, TTL, high urgency, the wake topic and aes128gcm, and the keys open it to the constant payload only', async () => {
    const subscription = receiver.subscription();
    expect(await webSender().send(subscription)).toBe('sent');
    expect(receiver.refused).toEqual([]);
    expect(receiver.received).toEqual([
      {
        service: 'web',
        endpoint: subscription.endpoint,
        ttl: 3600,
        urgency: 'high',
        topic: WAKE_TOPIC,
        contentEncoding: 'aes128gcm',
        subject: SUBJECT,
        bodyBytes: expect.any(Number),
        payload: WAKE_PAYLOAD,
      },
    ]);
  });

  test('GIVEN two wake-ups to two subscriptions THEN their bodies are the same length: the size says nothing either', async () => {
    await webSender().send(receiver.subscription());
    await webSender().send(receiver.subscription());
    const [a, b] = receiver.received;
    expect(a?.service === 'web' && b?.service === 'web' && a.bodyBytes === b.bodyBytes).toBe(true);
  });

  test('GIVEN the service answers 410 for the subscription THEN expired', async () => {
    const subscription = receiver.subscription();
    receiver.expire(subscription.endpoint);
    expect(await webSender().send(subscription)).toBe('expired');
    expect(receiver.received).toEqual([]);
  });

  test('GIVEN an endpoint the service does not know (404) THEN expired', async () => {
    const subscription = receiver.subscription();
    expect(await webSender().send({ ...subscription, endpoint: `${receiver.url}/push/unknown` })).toBe('expired');
  });

  test('GIVEN a sender signing with a key the subscription was not made with THEN the service refuses it 403 and the token is kept (rejected)', async () => {
    expect(await webSender(generateVAPIDKeys()).send(receiver.subscription())).toBe('rejected');
    expect(receiver.refused).toEqual([expect.objectContaining({ status: 403, reason: 'wrong-key' })]);
  });

  test('GIVEN requests with a forged, misaddressed or expired VAPID token THEN the receiver refuses each 401 and receives nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = generateVAPIDKeys();
    const post = (endpoint: string, authorization: string) =>
      fetch(endpoint, { method: 'POST', headers: { authorization, ttl: '60' }, body: '' }).then((r) => r.status);
    const header = (audience: string, keys = vapid) =>
      getVapidHeaders(audience, SUBJECT, keys.publicKey, keys.privateKey, 'aes128gcm', now + 60).Authorization;
    const subscription = receiver.subscription();
    expect(await post(subscription.endpoint, header(receiver.url, other).replace(other.publicKey, vapid.publicKey))).toBe(401);
    expect(await post(subscription.endpoint, header('https://push.example.net'))).toBe(401);
    // web-push will not sign an expired token: a receiver whose clock is an hour ahead sees this one as expired.
    const later = await PushReceiver.start({ vapidPublicKey: vapid.publicKey, now: () => Date.now() + 3_600_000 });
    expect(await post(later.subscription().endpoint, header(later.url))).toBe(401);
    await later.close();
    expect(receiver.refused.map((r) => [r.status, r.reason])).toEqual([
      [401, 'bad-signature'],
      [401, 'wrong-audience'],
    ]);
    expect(later.refused.map((r) => [r.status, r.reason])).toEqual([[401, 'expired']]);
    expect([...receiver.received, ...later.received]).toEqual([]);
  });

  test('GIVEN a service that cannot be reached THEN failed, for SQS to retry', async () => {
    const subscription = receiver.subscription();
    await receiver.close();
    expect(await webSender().send(subscription)).toBe('failed');
    receiver = await PushReceiver.start({ vapidPublicKey: vapid.publicKey });
  });

  test('GIVEN a stored subscription whose p256dh is not a point THEN expired: nothing could ever be sent to it', async () => {
    const subscription = receiver.subscription();
    expect(await webSender().send({ ...subscription, keys: { ...subscription.keys, p256dh: 'B' + 'A'.repeat(86) } })).toBe('expired');
  });

  test.each([
    [201, 'sent'],
    [202, 'sent'],
    [404, 'expired'],
    [410, 'expired'],
    [400, 'rejected'],
    [403, 'rejected'],
    [413, 'rejected'],
    [429, 'failed'],
    [500, 'failed'],
    [503, 'failed'],
    [301, 'failed'],
  ])('GIVEN a push service answering %i THEN %s', (status, result) => {
    expect(resultOfStatus(status)).toBe(result);
  });

  test('GIVEN the VAPID secret value THEN it parses only as a 65-byte public point and a 32-byte private key', () => {
    expect(parseVapidKeys(JSON.stringify(vapid))).toEqual(vapid);
    expect(() => parseVapidKeys('{')).toThrow('VAPID secret: not JSON');
    expect(() => parseVapidKeys(JSON.stringify({ ...vapid, publicKey: vapid.privateKey }))).toThrow(/publicKey/);
    expect(() => parseVapidKeys(JSON.stringify({ ...vapid, privateKey: 'x' }))).toThrow(/privateKey/);
    const secretless = JSON.stringify({ ...vapid, publicKey: 'not-a-key' });
    expect(() => parseVapidKeys(secretless)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(vapid.privateKey) }));
  });
});

describe('APNs and FCM wake-ups through SNS, as the local push receiver plays SNS', () => {
  test('GIVEN an APNs token WHEN woken THEN the platform gets a background push with content-available and no alert, at priority 5', async () => {
    const push = new SnsMobilePush(sns(), LOCAL_PLATFORM_APPLICATIONS, 3600);
    expect(await push.send({ platform: 'apns', token: APNS_TOKEN })).toBe('sent');
    expect(receiver.received).toEqual([
      {
        service: 'apns',
        token: APNS_TOKEN,
        message: { aps: { 'content-available': 1 } },
        attributes: { 'AWS.SNS.MOBILE.APNS.PUSH_TYPE': 'background', 'AWS.SNS.MOBILE.APNS.PRIORITY': '5', 'AWS.SNS.MOBILE.APNS.TTL': '3600' },
      },
    ]);
  });

  test('GIVEN an FCM token WHEN woken THEN the platform gets a data-only message saying only "wake", at high priority', async () => {
    const push = new SnsMobilePush(sns(), LOCAL_PLATFORM_APPLICATIONS, 3600);
    expect(await push.send({ platform: 'fcm', token: FCM_TOKEN })).toBe('sent');
    expect(receiver.received).toEqual([
      {
        service: 'fcm',
        token: FCM_TOKEN,
        message: { fcmV1Message: { message: { data: { t: 'wake' }, android: { priority: 'high', ttl: '3600s' } } } },
        attributes: { 'AWS.SNS.MOBILE.FCM.TTL': '3600' },
      },
    ]);
  });

  test('GIVEN a platform this deployment did not configure THEN off, and SNS is never called', async () => {
    const push = new SnsMobilePush(sns(), { fcm: LOCAL_PLATFORM_APPLICATIONS.fcm }, 3600);
    expect(await push.send({ platform: 'apns', token: APNS_TOKEN })).toBe('off');
    expect(receiver.received).toEqual([]);
  });

  test('GIVEN the platform disabled the endpoint (token expired) THEN expired and the endpoint is deleted; until then a warm sender reuses the endpoint it made', async () => {
    const client = sns();
    const creates: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        creates.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const push = new SnsMobilePush(client, LOCAL_PLATFORM_APPLICATIONS, 3600);
    expect(await push.send({ platform: 'apns', token: APNS_TOKEN })).toBe('sent');
    expect(await push.send({ platform: 'apns', token: APNS_TOKEN })).toBe('sent');
    receiver.expire(APNS_TOKEN);
    expect(await push.send({ platform: 'apns', token: APNS_TOKEN })).toBe('expired');
    // A warm function reuses the endpoint it made; the expiry deletes it.
    expect(creates).toEqual(['CreatePlatformEndpointCommand', 'PublishCommand', 'PublishCommand', 'PublishCommand', 'DeleteEndpointCommand']);
  });

  test('GIVEN SNS refuses the token as an invalid parameter THEN expired; GIVEN SNS throttles THEN failed', async () => {
    const failing = (error: Error) => ({ send: async () => Promise.reject(error) }) as unknown as SNSClient;
    const invalid = new InvalidParameterException({ message: 'Invalid parameter: Token', $metadata: {} });
    const throttled = new ThrottledException({ message: 'Rate exceeded', $metadata: {} });
    expect(await new SnsMobilePush(failing(invalid), LOCAL_PLATFORM_APPLICATIONS, 60).send({ platform: 'fcm', token: FCM_TOKEN })).toBe('expired');
    expect(await new SnsMobilePush(failing(throttled), LOCAL_PLATFORM_APPLICATIONS, 60).send({ platform: 'fcm', token: FCM_TOKEN })).toBe('failed');
  });

  test('GIVEN a publish SNS refuses as an invalid parameter THEN rejected, the token kept', async () => {
    let calls = 0;
    const client = {
      send: async (command: unknown) => {
        calls++;
        if (command instanceof CreatePlatformEndpointCommand) return { EndpointArn: `${LOCAL_PLATFORM_APPLICATIONS.fcm}/e1` };
        throw new InvalidParameterException({ message: 'Invalid parameter: Message', $metadata: {} });
      },
    } as unknown as SNSClient;
    expect(await new SnsMobilePush(client, LOCAL_PLATFORM_APPLICATIONS, 60).send({ platform: 'fcm', token: FCM_TOKEN })).toBe('rejected');
    expect(calls).toBe(2);
  });

  test('THEN every wake message is the same for every token of a platform and names nothing but "wake"', () => {
    for (const platform of ['apns', 'fcm'] as const) {
      const { Message } = wakeMessage(platform, MAX_WAKE_TTL_SECONDS);
      expect(Message).not.toMatch(/from|sender|count|badge|alert|body|title/i);
    }
  });
});
