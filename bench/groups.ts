import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import nacl from 'tweetnacl';
import { WebSocket } from 'ws';
import { EbbClient, MemoryStore, type WebSocketConstructor } from '../client-sdk/src';
import { createSenderKey, senderKeyEncrypt, type SenderKeyState } from '../client-sdk/src/crypto/sender-key';
import { SenderKeys } from '../client-sdk/src/groups/distribution';
import { encodeGroupPlaintext, groupAssociatedData } from '../client-sdk/src/groups/wiring-message';
import { fromBase64Url, toBase64Url } from '../protocol/base64url';
import { DEVICE_CONTEXT, IDENTITY_CONTEXT, SIGNED_PREKEY_CONTEXT, signedKeyMessage, USER_ID_HASH_BYTES } from '../protocol/connect';
import { Limits } from '../protocol/limits';
import type { HandlerPorts } from '../lambdas/adapters/ports';
import { dollarsPerMillion, type CostBreakdown } from './cost';
import { compareWithPrimitives, primitivesReplay, type CryptoFigure } from './crypto';
import { median, sleep } from './measure';
import { Prices } from './prices';
import { startMeteredStack, type MeteredStack } from './stack';
import { openWindow } from './window';

/** One group size, measured for one text message sent after the group was set up and its sender key distributed. */
export interface GroupSizeResult {
  /** Members, the sender included. */
  readonly members: number;
  /** Member devices the message is queued for (the sender has one device). */
  readonly copies: number;
  /** Frames the sender wrote for the message, by action, and their bytes. */
  readonly frames: number;
  readonly framesByAction: Record<string, number>;
  readonly bytesUploaded: number;
  /** The ciphertext as it rides in a frame (base64url): repeated in each frame. */
  readonly ciphertextBytes: number;
  /** What one pairwise copy per device would upload: the ciphertext alone, no framing. */
  readonly pairwiseCiphertextBytes: number;
  /** DynamoDB requests of the `fanout` route per queued copy, and the route's requests by operation. */
  readonly dynamoRequestsPerCopy: number;
  readonly dynamoRequestsByOperation: Record<string, number>;
  /** Every route's DynamoDB requests in the window (the watching members' fetches and acks too), by route. */
  readonly dynamoRequestsByRoute: Record<string, number>;
  /** Queuing one copy: the sender's frames and answers, the fanout invocations and their DynamoDB units, per million copies. */
  readonly dollarsPerMillionCopies: CostBreakdown;
  /** From sendToGroup() to the last queue write of the message (a PutItem of its item in a recipient's partition). */
  readonly millisToLastQueueWrite: number;
  /** From sendToGroup() to its promise resolving (the last frame's answer). */
  readonly millisToResult: number;
  /** From sendToGroup() to the last 'message' event on the watching members' devices (real SDK clients, connected). */
  readonly millisToLastWatcherEvent: number;
  readonly watcherDevices: number;
  /** Set-up, not measured above: creating the group (its history to every member device) and the first message (the sender key's distribution). */
  readonly setupSeconds: { readonly members: number; readonly create: number; readonly firstMessage: number };
}

export interface GroupCryptoResult {
  /** senderKeyEncrypt of one 1 KiB text's group plaintext beside its primitives (2 HMACs, the nonce, secretbox, Ed25519 sign). */
  readonly encrypt: CryptoFigure;
  /** SenderKeys.encrypt as sendToGroup calls it (the own key's record read, parsed and written in a MemoryStore), by group size. */
  readonly asSent: Record<string, { readonly perSecond: number; readonly primitivesPerSecond: number; readonly ratio: number }>;
}

export interface GroupsResult {
  readonly sizes: GroupSizeResult[];
  readonly crypto: GroupCryptoResult;
}

/** Members whose devices are real, connected SDK clients, named last in the group: the event latency is theirs. */
const WATCHER_DEVICES = [1, 2, 3];
const TEXT = 'g'.repeat(1000);

/**
 * Groups through the SDK on the local stack (ARCH §8.9): for each size, a sender (a real EbbClient, one device)
 * creates a group whose other members have 1, 2 and 3 devices in turn, sends a first message (its sender key goes
 * to every member device over the pairwise sessions), then one 1 KiB text, measured: the frames and bytes the sender
 * writes, the `fanout` route's DynamoDB requests and cost per copy, the time to the last queue write and to the
 * last watching device's event. Most members are made directly in the tables (account, linked devices with their
 * certificates, a signed and a one-time prekey per device, all genuinely signed), never connected: their copies
 * wait in their queues. Three members (1, 2, 3 devices) are real SDK clients, connected, linked through
 * startLink/approveLink, and named last, so their copies ride in the last frame.
 */
export async function measureGroups(options: { sizes: readonly number[]; cryptoSeconds: number; memoryMb: number }): Promise<GroupsResult> {
  const writes = new QueueWrites();
  const m = await startMeteredStack({ instrument: writes.instrument, config: { maxGroupSize: Math.max(...options.sizes) } });
  const clients: EbbClient[] = [];
  const make = async (socket?: WebSocketConstructor) => {
    const client = await EbbClient.create({
      url: m.stack.url,
      store: new MemoryStore(),
      receipts: false,
      timeoutMs: 120_000,
      ...(socket && { WebSocket: socket }),
    });
    clients.push(client);
    return client;
  };
  try {
    const sizes: GroupSizeResult[] = [];
    for (const members of options.sizes) sizes.push(await measureSize(m, writes, make, members, options.memoryMb));
    return { sizes, crypto: await measureGroupCrypto(options.cryptoSeconds, options.sizes) };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await m.stack.stop();
  }
}

type Make = (socket?: WebSocketConstructor) => Promise<EbbClient>;

async function measureSize(m: MeteredStack, writes: QueueWrites, make: Make, size: number, memoryMb: number): Promise<GroupSizeResult> {
  const counter = new SenderSocket();
  const sender = await make(counter.socket);
  await sender.connect();

  const setupStarted = performance.now();
  // Device counts cycle 1, 2, 3 over the members other than the sender; the last three are the watchers.
  const others = size - 1;
  if (others < WATCHER_DEVICES.length) throw new Error(`bench: a group of ${size} leaves no room for the watching members`);
  const counts = Array.from({ length: others }, (_, i) => (i % 3) + 1);
  const tableCounts = counts.slice(0, others - WATCHER_DEVICES.length);
  const watchers = [];
  for (const n of WATCHER_DEVICES) watchers.push(await watcher(make, n));
  const tableMembers = await inParallel(tableCounts, 16, (n) => tableMember(m.stack.ports, n));
  for (const user of tableMembers) counter.local.add(user);
  const memberIds = [...tableMembers, ...watchers.map((w) => w.userId)];
  const copies = counts.reduce((sum, n) => sum + n, 0);
  const membersSeconds = (performance.now() - setupStarted) / 1000;

  const createStarted = performance.now();
  const group = await sender.createGroup({ name: `bench ${size}`, members: memberIds });
  const watcherDevices = watchers.flatMap((w) => w.devices);
  await until(() => watcherDevices.every((d) => d.client.group(group.id) !== undefined), 'the watching devices to hold the group', 300_000);
  const createSeconds = (performance.now() - createStarted) / 1000;

  const firstStarted = performance.now();
  const first = await sender.sendToGroup(group.id, 'first: the sender key goes out');
  await until(() => watcherDevices.every((d) => d.seen.has(first.id)), 'the first message on the watching devices', 300_000);
  const firstSeconds = (performance.now() - firstStarted) / 1000;
  await sleep(300); // the watchers' batched acks

  // The measured message: every frame goes to the service.
  counter.local.clear();
  writes.clear();
  counter.start();
  const close = openWindow(m);
  const started = performance.now();
  const sent = await sender.sendToGroup(group.id, TEXT);
  const millisToResult = performance.now() - started;
  const frames = counter.stop();
  await until(() => watcherDevices.every((d) => d.seen.has(sent.id)), 'the measured message on the watching devices', 120_000);
  const millisToLastWatcherEvent = Math.max(...watcherDevices.map((d) => d.seen.get(sent.id)!)) - started;
  await sleep(300);
  const counted = close();
  const queued = writes.of(sent.id);
  if (queued.count !== copies) throw new Error(`bench: ${queued.count} copies queued of ${copies}`);

  const fanout = counted.dynamoByRoute.get('fanout');
  const fanoutFrames = frames.byAction.fanout ?? 0;
  if (!fanout || fanoutFrames === 0) throw new Error('bench: the measured message made no fanout frame');
  const ciphertextBytes = frames.ciphertextBytes;
  // Queuing cost per copy: each fanout frame (32 KB units) and its answer, each invocation, the route's units.
  const ops = {
    apiGatewayUnits: (frames.billedUnits + fanoutFrames) / copies,
    invocations: [{ route: 'fanout', perMessage: fanoutFrames / copies, durationMs: median(counted.durations.get('fanout') ?? [0]) }],
    memoryMb,
    readUnits: fanout.readUnits / copies,
    writeUnits: fanout.writeUnits / copies,
  };
  return {
    members: size,
    copies,
    frames: frames.count,
    framesByAction: frames.byAction,
    bytesUploaded: frames.bytes,
    ciphertextBytes,
    pairwiseCiphertextBytes: copies * ciphertextBytes,
    dynamoRequestsPerCopy: fanout.requests / copies,
    dynamoRequestsByOperation: fanout.byOperation,
    dynamoRequestsByRoute: Object.fromEntries([...counted.dynamoByRoute].map(([route, u]) => [route, u.requests])),
    dollarsPerMillionCopies: dollarsPerMillion(ops, Prices),
    millisToLastQueueWrite: queued.last - started,
    millisToResult,
    millisToLastWatcherEvent,
    watcherDevices: watcherDevices.length,
    setupSeconds: { members: membersSeconds, create: createSeconds, firstMessage: firstSeconds },
  };
}

/** A member whose `devices` devices are SDK clients, linked and connected, each noting when it saw which message. */
async function watcher(make: Make, devices: number) {
  const first = await make();
  await first.connect();
  const list = [first];
  while (list.length < devices) {
    const device = await make();
    const { code, linked } = await device.startLink();
    await first.approveLink(code, { name: `device ${list.length + 1}` });
    await linked;
    await device.connect();
    list.push(device);
  }
  return {
    userId: first.userId,
    devices: list.map((client) => {
      const seen = new Map<string, number>();
      client.on('message', (msg) => seen.set(msg.id, performance.now()));
      return { client, seen };
    }),
  };
}

/**
 * A member made in the tables, as registering and linking would leave it: the account (identity key signed by
 * the account key), `devices − 1` linked devices with certificates by the account key, made ready, and per device
 * a signed prekey (signed by the device's key) and one one-time prekey. Never connected. Keys are made and signed
 * with node:crypto, which is many times faster than tweetnacl here; the SDK verifies them as any Ed25519 signature.
 */
async function tableMember(ports: HandlerPorts, devices: number): Promise<string> {
  const account = ed25519();
  const identity = x25519Public();
  const userId = toBase64Url(createHash('sha512').update(account.publicKey).digest().subarray(0, USER_ID_HASH_BYTES));
  const now = Date.now();
  await ports.accounts.create({
    userId,
    signingKey: toBase64Url(account.publicKey),
    identityKey: toBase64Url(identity),
    identitySig: account.sign(IDENTITY_CONTEXT, identity),
    devices: [1],
    createdAt: now,
  });
  const keys = new Map([[1, account]]);
  for (let i = 1; i < devices; i++) {
    const key = ed25519();
    const cert = account.sign(DEVICE_CONTEXT, key.publicKey);
    const added = await ports.devices.add(userId, { signingKey: toBase64Url(key.publicKey), cert, name: null, linkedAt: now }, 6);
    if (added.outcome !== 'added' || !(await ports.devices.activate(userId, added.device))) throw new Error('bench: could not link a member device');
    keys.set(added.device, key);
  }
  for (const [device, key] of keys) {
    const signed = x25519Public();
    await ports.prekeys.putSignedPrekey(
      { userId, device },
      { keyId: 1, publicKey: toBase64Url(signed), signature: key.sign(SIGNED_PREKEY_CONTEXT, signed) },
    );
    await ports.prekeys.putOneTimePrekeys({ userId, device }, [{ keyId: 1, publicKey: toBase64Url(x25519Public()) }]);
  }
  return userId;
}

/** An Ed25519 key pair (node:crypto): its raw public key, and a signer of `signedKeyMessage(context, key)`. */
function ed25519() {
  const pair = generateKeyPairSync('ed25519');
  return {
    publicKey: fromBase64Url(pair.publicKey.export({ format: 'jwk' }).x!),
    sign: (context: string, key: Uint8Array) => toBase64Url(cryptoSign(null, signedKeyMessage(context, key), pair.privateKey)),
  };
}

/** The raw public half of a fresh X25519 key pair (node:crypto); the private half is never needed. */
function x25519Public(): Uint8Array {
  return fromBase64Url(generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }).x!);
}

/**
 * The sender's socket. While counting, it notes every frame the sender writes (action, bytes, ciphertext length).
 * During set-up, a `send` frame to a member in `local` (made in the tables, never connected) is answered here, as
 * the service would answer a send that queued every copy, instead of being queued: the group's history and the
 * first sender-key distribution to members that will never read them. The SDK still fetches and verifies their
 * bundles, starts the sessions and encrypts every copy; only the service's queue writes for them are skipped.
 */
class SenderSocket {
  readonly local = new Set<string>();
  readonly socket: WebSocketConstructor = benchSocket(this);
  private counting = false;
  private frames: { action: string; bytes: number; ciphertext: number }[] = [];

  /** Notes a frame the sender writes; true when it was answered here instead (`answer` is then called with the answer). */
  handle(data: string, answer: (text: string) => void): boolean {
    const frame = JSON.parse(data) as { action?: string; rid?: string; id?: string; to?: string; ciphertext?: string };
    if (this.counting) {
      this.frames.push({ action: String(frame.action), bytes: Buffer.byteLength(data), ciphertext: frame.ciphertext?.length ?? 0 });
      return false;
    }
    if (frame.action !== 'send' || frame.to === undefined || !this.local.has(frame.to)) return false;
    const sentAt = Date.now();
    answer(
      JSON.stringify({
        type: 'result',
        rid: frame.rid,
        id: frame.id,
        sentAt,
        expiresAt: sentAt + 86_400_000,
        duplicate: false,
        missing: [],
        stale: [],
      }),
    );
    return true;
  }

  start(): void {
    this.frames = [];
    this.counting = true;
  }

  stop() {
    this.counting = false;
    const byAction: Record<string, number> = {};
    for (const f of this.frames) byAction[f.action] = (byAction[f.action] ?? 0) + 1;
    return {
      count: this.frames.length,
      byAction,
      bytes: this.frames.reduce((sum, f) => sum + f.bytes, 0),
      billedUnits: this.frames.reduce((sum, f) => sum + Math.max(1, Math.ceil(f.bytes / Limits.maxFrameBytes)), 0),
      ciphertextBytes: Math.max(0, ...this.frames.filter((f) => f.action === 'fanout').map((f) => f.ciphertext)),
    };
  }
}

/** The `ws` WebSocket with its writes passed through `owner.handle`. */
function benchSocket(owner: SenderSocket): WebSocketConstructor {
  class BenchWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      const answer = (text: string) => setImmediate(() => this.emit('message', Buffer.from(text), false));
      if (typeof data === 'string' && owner.handle(data, answer)) return;
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return BenchWebSocket as unknown as WebSocketConstructor;
}

/**
 * When each queued message item was written, by message id: a middleware on the handlers' DynamoDB client sees
 * every PutItem whose item has an `id` and a sort key `m#…` (a message in a recipient device's partition, ARCH §7.4).
 */
class QueueWrites {
  private readonly writes = new Map<string, { count: number; last: number }>();

  readonly instrument = (client: DynamoDBClient): void => {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if ((context as { commandName?: string }).commandName === 'PutItemCommand') {
          const item = (args.input as { Item?: Record<string, unknown> }).Item ?? {};
          const text = (v: unknown) => (typeof v === 'string' ? v : ((v as { S?: string } | undefined)?.S ?? ''));
          const id = text(item.id);
          if (id && text(item.sk).startsWith('m#')) {
            const entry = this.writes.get(id) ?? this.writes.set(id, { count: 0, last: 0 }).get(id)!;
            entry.count++;
            entry.last = performance.now();
          }
        }
        return result;
      },
      { step: 'initialize', name: 'benchQueueWrites', override: true },
    );
  };

  clear(): void {
    this.writes.clear();
  }

  of(id: string): { count: number; last: number } {
    return this.writes.get(id) ?? { count: 0, last: NaN };
  }
}

/**
 * The sender's per-message encryption: `senderKeyEncrypt` of a 1 KiB text's group plaintext beside the same
 * primitive calls replayed (crypto.ts's method), and `SenderKeys.encrypt` as sendToGroup calls it, whose own-key
 * record (with the member devices the key went to) is read, parsed and written back on every message.
 */
export async function measureGroupCrypto(seconds: number, sizes: readonly number[]): Promise<GroupCryptoResult> {
  const group = toBase64Url(nacl.randomBytes(16));
  const from = toBase64Url(nacl.randomBytes(USER_ID_HASH_BYTES));
  const plaintext = encodeGroupPlaintext({
    from,
    fromDevice: 1,
    group,
    id: toBase64Url(nacl.randomBytes(16)),
    text: TEXT,
    body: new TextEncoder().encode(TEXT),
    frankKey: nacl.randomBytes(32),
    seq: 1,
    deliveryToken: nacl.randomBytes(Limits.deliveryTokenBytes),
  });
  const ad = groupAssociatedData(group, from, 1);
  let state: SenderKeyState = createSenderKey();
  const encrypt = compareWithPrimitives(seconds / 2, () => {
    state = senderKeyEncrypt(state, plaintext, ad).state;
  });
  const replay = primitivesReplay(() => {
    state = senderKeyEncrypt(state, plaintext, ad).state;
  });
  const asSent: Record<string, { perSecond: number; primitivesPerSecond: number; ratio: number }> = {};
  for (const size of sizes) asSent[String(size)] = await encryptAsSent(seconds / 2 / sizes.length, size, group, plaintext, ad, replay);
  return { encrypt, asSent };
}

/**
 * SenderKeys.encrypt, with an own-key record naming `size − 1` members' devices (1–3 each), in alternating 50 ms
 * slices with the replay of senderKeyEncrypt's primitives, as crypto.ts's interleavedRates does for synchronous ops.
 */
async function encryptAsSent(seconds: number, size: number, group: string, plaintext: Uint8Array, ad: Uint8Array, replay: () => void) {
  const store = new MemoryStore();
  const keys = new SenderKeys(store, Date.now);
  await keys.own(group);
  // The record as sent() leaves it once the first message's distribution reached every member device.
  for (let i = 0; i < size - 1; i++) {
    const devices = Array.from({ length: (i % 3) + 1 }, (_, d) => d + 1);
    await keys.sent(group, toBase64Url(nacl.randomBytes(USER_ID_HASH_BYTES)), devices);
  }
  let seq = 0;
  for (let i = 0; i < 10; i++) await keys.encrypt(group, plaintext, ad, ++seq);
  const totals = { sdk: { calls: 0, ms: 0 }, raw: { calls: 0, ms: 0 } };
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    let started = performance.now();
    let now = started;
    while (now < started + 50) {
      await keys.encrypt(group, plaintext, ad, ++seq);
      totals.sdk.calls++;
      now = performance.now();
    }
    totals.sdk.ms += now - started;
    started = now;
    while (now < started + 50) {
      replay();
      totals.raw.calls++;
      now = performance.now();
    }
    totals.raw.ms += now - started;
  }
  const perSecond = (totals.sdk.calls * 1000) / totals.sdk.ms;
  const primitivesPerSecond = (totals.raw.calls * 1000) / totals.raw.ms;
  return { perSecond, primitivesPerSecond, ratio: perSecond / primitivesPerSecond };
}

async function inParallel<T, R>(items: readonly T[], concurrency: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await run(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

async function until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(5);
  }
}
