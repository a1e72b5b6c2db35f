import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkVapid, type VapidRefusal } from './vapid-verify';
import { decryptWebPush, type SubscriptionSecrets } from './web-push-decrypt';

/**
 * The push services, played by the local stack (ARCH §11.1): a Web Push service (RFC 8030) that checks each
 * request's VAPID JWT (RFC 8292) and decrypts its RFC 8291 payload with the keys of the subscription it minted,
 * and an SNS mobile-push endpoint (the query protocol the real `@aws-sdk/client-sns` speaks) standing in for APNs
 * and FCM. It records exactly what a push service would see, so tests assert on that, and can be told that a
 * subscription or token has expired.
 */

/** A Web Push request the service accepted: its headers, its size, and what the subscription's keys open it to. */
export interface ReceivedWebPush {
  readonly service: 'web';
  readonly endpoint: string;
  /** RFC 8030 §5.2, §5.3, §5.4. */
  readonly ttl: number;
  readonly urgency: string | undefined;
  readonly topic: string | undefined;
  readonly contentEncoding: string | undefined;
  /** The VAPID `sub` claim. */
  readonly subject: string;
  /** The encrypted body's length: all a real push service learns of the payload. */
  readonly bodyBytes: number;
  /** The decrypted payload as text, or null when it did not open with the subscription's keys. */
  readonly payload: string | null;
}

/** A publish to an APNs or FCM platform endpoint, as the platform would be handed it. */
export interface ReceivedMobilePush {
  readonly service: 'apns' | 'fcm';
  readonly token: string;
  /** The platform's part of the SNS message (`APNS` or `GCM`), parsed. */
  readonly message: unknown;
  readonly attributes: Readonly<Record<string, string>>;
}

export type ReceivedPush = ReceivedWebPush | ReceivedMobilePush;

/** A Web Push request the service refused, and why. */
export interface RefusedPush {
  readonly endpoint: string;
  readonly status: number;
  readonly reason: VapidRefusal | 'unknown-subscription' | 'no-ttl' | 'content-encoding' | 'too-large';
}

/** A subscription the receiver minted: what `PushManager.subscribe()` would give a page. */
export interface MintedSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export interface PushReceiverOptions {
  /** The deployment's VAPID public key: requests signed with another are refused, as the subscription names it. */
  readonly vapidPublicKey: string;
  /** Epoch milliseconds for the JWT's `exp`: the wall clock, which the sender's JWT also uses. @default Date.now */
  readonly now?: () => number;
  /** @default 0 (a free port) */
  readonly port?: number;
}

/** The platform applications the receiver plays, named as SNS names them. */
export const LOCAL_PLATFORM_APPLICATIONS = {
  apns: 'arn:aws:sns:local:000000000000:app/APNS/ebb-local-apns',
  fcm: 'arn:aws:sns:local:000000000000:app/GCM/ebb-local-fcm',
} as const;

/** RFC 8291 §4: a push service must accept at least 4096 bytes of body. */
const MAX_BODY_BYTES = 4096;

export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  readonly refused: RefusedPush[] = [];
  private readonly secrets = new Map<string, SubscriptionSecrets>();
  private readonly expired = new Set<string>();
  private readonly failing = new Map<string, number>();
  /** SNS platform endpoints by ARN, and by platform and token (CreatePlatformEndpoint is idempotent). */
  private readonly endpoints = new Map<string, { service: 'apns' | 'fcm'; token: string }>();
  private readonly endpointOf = new Map<string, string>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    private readonly options: PushReceiverOptions,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
  ) {
    this.now = options.now ?? (() => Date.now());
  }

  /** Starts the receiver on 127.0.0.1. */
  static async start(options: PushReceiverOptions): Promise<PushReceiver> {
    const holder: { receiver?: PushReceiver } = {};
    const server = createServer((req, res) => void holder.receiver!.handle(req, res).catch(() => answer(res, 500)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    holder.receiver = new PushReceiver(server, options, `http://127.0.0.1:${port}`);
    return holder.receiver;
  }

  /** The endpoint the real `@aws-sdk/client-sns` is pointed at. */
  get snsEndpoint(): string {
    return `${this.url}/sns`;
  }

  /** Mints a Web Push subscription to this receiver, keeping its private key to open what is pushed to it. */
  subscription(): MintedSubscription {
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const endpoint = `${this.url}/push/${randomUUID()}`;
    this.secrets.set(endpoint, { publicKey, privateKey: ecdh.getPrivateKey(), authSecret });
    return { endpoint, keys: { p256dh: publicKey.toString('base64url'), auth: authSecret.toString('base64url') } };
  }

  /**
   * From now on the service calls this subscription (an endpoint) or device token expired: Web Push answers 410
   * Gone, SNS `EndpointDisabled`, as when an app is uninstalled or a browser drops its subscription.
   */
  expire(endpointOrToken: string): void {
    this.expired.add(endpointOrToken);
  }

  /**
   * From now on the service fails pushes to this subscription or token with `status` (a 5xx or 429: a service
   * having a bad minute), until `recover()`. SNS answers such a publish with its `InternalError`.
   */
  failWith(endpointOrToken: string, status: number): void {
    this.failing.set(endpointOrToken, status);
  }

  /** Ends every `failWith`. */
  recover(): void {
    this.failing.clear();
  }

  /** Resolves once at least `count` pushes have been received in all. */
  waitForPushes(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(push: ReceivedPush): void {
    this.received.push(push);
    for (const waiter of this.waiters.splice(0)) {
      if (this.received.length >= waiter.count) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES * 4);
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (req.method === 'POST' && path.startsWith('/push/')) return this.webPush(req, res, `${this.url}${path}`, body);
    if (req.method === 'POST' && (path === '/sns' || path === '/sns/')) return this.sns(res, body);
    answer(res, 404);
  }

  /** RFC 8030 §5: a push message request. */
  private webPush(req: IncomingMessage, res: ServerResponse, endpoint: string, body: Buffer | undefined): void {
    const refuse = (status: number, reason: RefusedPush['reason']) => {
      this.refused.push({ endpoint, status, reason });
      answer(res, status);
    };
    const secrets = this.secrets.get(endpoint);
    if (!secrets) return refuse(404, 'unknown-subscription');
    const vapid = checkVapid(req.headers.authorization, this.options.vapidPublicKey, this.url, Math.floor(this.now() / 1000));
    // RFC 8292 §4.2: 403 for a key that is not the subscription's, 401 for a token that does not hold.
    if (!vapid.ok) return refuse(vapid.refusal === 'wrong-key' ? 403 : 401, vapid.refusal);
    if (this.expired.has(endpoint)) {
      answer(res, 410);
      return;
    }
    const failure = this.failing.get(endpoint);
    if (failure !== undefined) {
      answer(res, failure);
      return;
    }
    const ttl = Number(req.headers.ttl);
    // RFC 8030 §5.2: TTL is required.
    if (req.headers.ttl === undefined || !Number.isInteger(ttl) || ttl < 0) return refuse(400, 'no-ttl');
    if (body === undefined || body.length > MAX_BODY_BYTES) return refuse(413, 'too-large');
    const contentEncoding = header(req, 'content-encoding');
    if (body.length > 0 && contentEncoding !== 'aes128gcm') return refuse(415, 'content-encoding');
    const plaintext = body.length > 0 ? decryptWebPush(body, secrets) : new Uint8Array();
    this.record({
      service: 'web',
      endpoint,
      ttl,
      urgency: header(req, 'urgency'),
      topic: header(req, 'topic'),
      contentEncoding,
      subject: vapid.subject,
      bodyBytes: body.length,
      payload: plaintext === null ? null : Buffer.from(plaintext).toString('utf8'),
    });
    res.writeHead(201, { location: `${endpoint}/message/${randomUUID()}` }).end();
  }

  /** The three SNS actions ebb's sender uses, in the query protocol (form-encoded request, XML answer). */
  private sns(res: ServerResponse, body: Buffer | undefined): void {
    const form = new URLSearchParams(body?.toString('utf8') ?? '');
    const action = form.get('Action');
    if (action === 'CreatePlatformEndpoint') {
      const application = form.get('PlatformApplicationArn');
      const service = (Object.keys(LOCAL_PLATFORM_APPLICATIONS) as ('apns' | 'fcm')[]).find((s) => LOCAL_PLATFORM_APPLICATIONS[s] === application);
      const token = form.get('Token') ?? '';
      if (!service) return snsError(res, 404, 'NotFound', 'PlatformApplication does not exist');
      if (token === '' || token.length > 4096) return snsError(res, 400, 'InvalidParameter', 'Invalid parameter: Token');
      const key = `${service}\n${token}`;
      let arn = this.endpointOf.get(key);
      if (!arn) {
        arn = `${application!.replace(':app/', ':endpoint/')}/${randomUUID()}`;
        this.endpointOf.set(key, arn);
        this.endpoints.set(arn, { service, token });
      }
      return snsResult(res, action, `<EndpointArn>${arn}</EndpointArn>`);
    }
    if (action === 'Publish') {
      const endpoint = this.endpoints.get(form.get('TargetArn') ?? '');
      if (!endpoint) return snsError(res, 404, 'NotFound', 'Endpoint does not exist');
      if (this.expired.has(endpoint.token)) return snsError(res, 400, 'EndpointDisabled', 'Endpoint is disabled');
      if (this.failing.has(endpoint.token)) return snsError(res, 500, 'InternalError', 'The service is having a bad minute');
      let message: Record<string, unknown>;
      try {
        message = form.get('MessageStructure') === 'json' ? (JSON.parse(form.get('Message') ?? '') as Record<string, unknown>) : {};
      } catch {
        return snsError(res, 400, 'InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
      }
      if (typeof message.default !== 'string')
        return snsError(res, 400, 'InvalidParameter', 'Invalid parameter: Message Structure - No default entry in JSON message body');
      const part = message[endpoint.service === 'apns' ? 'APNS' : 'GCM'];
      this.record({
        service: endpoint.service,
        token: endpoint.token,
        message: typeof part === 'string' ? (JSON.parse(part) as unknown) : undefined,
        attributes: messageAttributes(form),
      });
      return snsResult(res, action, `<MessageId>${randomUUID()}</MessageId>`);
    }
    if (action === 'DeleteEndpoint') {
      const arn = form.get('EndpointArn') ?? '';
      const endpoint = this.endpoints.get(arn);
      if (endpoint) {
        this.endpoints.delete(arn);
        this.endpointOf.delete(`${endpoint.service}\n${endpoint.token}`);
      }
      return snsResult(res, action, '');
    }
    snsError(res, 400, 'InvalidAction', 'The action is not valid for this endpoint');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The body, or undefined past `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function answer(res: ServerResponse, status: number): void {
  if (!res.headersSent) res.writeHead(status).end();
}

/** `MessageAttributes.entry.N.Name` and `…Value.StringValue`, as the query protocol flattens the map. */
function messageAttributes(form: URLSearchParams): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let n = 1; form.has(`MessageAttributes.entry.${n}.Name`); n++) {
    attributes[form.get(`MessageAttributes.entry.${n}.Name`)!] = form.get(`MessageAttributes.entry.${n}.Value.StringValue`) ?? '';
  }
  return attributes;
}

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function snsResult(res: ServerResponse, action: string, inner: string): void {
  res
    .writeHead(200, { 'content-type': 'text/xml' })
    .end(
      `<${action}Response xmlns="${SNS_XMLNS}"><${action}Result>${inner}</${action}Result>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
    );
}

function snsError(res: ServerResponse, status: number, code: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'text/xml' })
    .end(
      `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>` +
        `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
}
