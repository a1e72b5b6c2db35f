import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { WebSocket } from 'ws';
import { toBase64Url } from '../protocol/base64url';
import { connectHost, connectMessage, connectQuery, IDENTITY_CONTEXT, signedKeyMessage, USER_ID_HASH_BYTES } from '../protocol/connect';
import { Limits } from '../protocol/limits';
import { diffUsage } from './dynamo-meter';
import { startMeteredStack } from './stack';

export interface FanoutResult {
  readonly recipients: number;
  readonly frames: number;
  /** Bytes of every `fanout` frame the sender uploaded. */
  readonly bytesUploaded: number;
  /** What the same message would upload as one `send` copy per device (the ciphertext alone, no framing). */
  readonly pairwiseCiphertextBytes: number;
  readonly dynamoRequestsPerCopy: number;
  readonly dynamoRequestsByOperation: Record<string, number>;
  /** From the first frame sent to the last answer, which comes after the last queue write. */
  readonly millisToLastWrite: number;
}

/**
 * One group message (ARCH §6.11) to `recipients` single-device users that are offline (the push step still
 * queries each one's connections): the frames the SDK would send, split by bytes and by
 * `Limits.maxFanoutDevicesPerFrame`, sent at once on one connection.
 */
export async function measureFanout(options: { recipients: number; ciphertextBytes: number }): Promise<FanoutResult> {
  const { stack, dynamo } = await startMeteredStack();
  try {
    const sender = await registeredSocket(stack.url);
    const users = Array.from({ length: options.recipients }, () => toBase64Url(nacl.randomBytes(USER_ID_HASH_BYTES)));
    // Each recipient's own delivery token, as a member presents it once that member has written to the sender: the
    // copy counts in the contacts' share, as predicted (a token that is not the recipient's costs a reservation
    // given back and taken again as a stranger's, ARCH §6.2).
    const tokens = new Map(users.map((user) => [user, nacl.randomBytes(Limits.deliveryTokenBytes)]));
    const now = Date.now();
    await Promise.all(
      users.map(async (userId) => {
        await stack.ports.accounts.create({ userId, signingKey: 'sk', identityKey: 'ik', identitySig: 'sig', devices: [1], createdAt: now });
        const hash = createHash('sha256').update(tokens.get(userId)!).digest('base64url');
        await stack.ports.accounts.setDeliveryTokenHash(userId, hash);
      }),
    );
    const message = {
      action: 'fanout',
      id: toBase64Url(nacl.randomBytes(16)),
      ciphertext: toBase64Url(nacl.randomBytes(options.ciphertextBytes)),
      commitment: toBase64Url(nacl.randomBytes(32)),
    };
    const frames = splitFrames(
      message,
      users.map((user) => ({ user, devices: [1], deliveryToken: toBase64Url(tokens.get(user)!) })),
    );

    const before = dynamo.snapshot().byRoute.get('fanout');
    const started = performance.now();
    const replies = await Promise.all(frames.map((frame, i) => sender.request({ ...frame, rid: `f${i}` })));
    const millisToLastWrite = performance.now() - started;
    for (const reply of replies) if (reply.type !== 'result') throw new Error(`fanout refused: ${String(reply.code)}`);
    const after = dynamo.snapshot().byRoute.get('fanout')!;
    const usage = before ? diffUsage(after, before) : after;
    sender.close();
    return {
      recipients: options.recipients,
      frames: frames.length,
      bytesUploaded: frames.reduce((sum, f) => sum + Buffer.byteLength(JSON.stringify({ ...f, rid: 'f0' })), 0),
      pairwiseCiphertextBytes: options.recipients * message.ciphertext.length,
      dynamoRequestsPerCopy: usage.requests / options.recipients,
      dynamoRequestsByOperation: usage.byOperation,
      millisToLastWrite,
    };
  } finally {
    await stack.stop();
  }
}

type Recipient = { user: string; devices: number[]; deliveryToken: string };

/** As the SDK splits: a frame takes recipients while it stays under 32 KiB and within the copies per frame. */
function splitFrames(base: Record<string, unknown>, recipients: readonly Recipient[]): Record<string, unknown>[] {
  const frames: Record<string, unknown>[] = [];
  let current: Recipient[] = [];
  let copies = 0;
  const size = (list: Recipient[]) => Buffer.byteLength(JSON.stringify({ ...base, rid: 'f000', recipients: list }));
  for (const r of recipients) {
    if (current.length > 0 && (copies + r.devices.length > Limits.maxFanoutDevicesPerFrame || size([...current, r]) >= Limits.maxFrameBytes)) {
      frames.push({ ...base, recipients: current });
      current = [];
      copies = 0;
    }
    current.push(r);
    copies += r.devices.length;
  }
  if (current.length > 0) frames.push({ ...base, recipients: current });
  return frames;
}

interface Sender {
  request(frame: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

/** A fresh identity, connected and registered over a raw socket. */
async function registeredSocket(url: string): Promise<Sender> {
  const signing = nacl.sign.keyPair();
  const identity = nacl.box.keyPair();
  const uid = toBase64Url(nacl.hash(signing.publicKey).subarray(0, USER_ID_HASH_BYTES));
  const fields = { uid, dev: 1, ts: Date.now(), nonce: toBase64Url(nacl.randomBytes(16)) };
  const sig = toBase64Url(nacl.sign.detached(new TextEncoder().encode(connectMessage({ ...fields, host: connectHost(url) })), signing.secretKey));
  const socket = new WebSocket(`${url}/?${connectQuery({ ...fields, sig, pk: toBase64Url(signing.publicKey) })}`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting = new Map<string, (frame: Record<string, unknown>) => void>();
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    waiting.get(frame.rid as string)?.(frame);
  });
  const request = (frame: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve) => {
      waiting.set(frame.rid as string, resolve);
      socket.send(JSON.stringify(frame));
    });
  const identitySig = toBase64Url(nacl.sign.detached(signedKeyMessage(IDENTITY_CONTEXT, identity.publicKey), signing.secretKey));
  const registered = await request({ action: 'register', rid: 'reg', identityKey: toBase64Url(identity.publicKey), identitySig });
  if (registered.type !== 'result') throw new Error(`register refused: ${String(registered.code)}`);
  return { request, close: () => socket.close() };
}
