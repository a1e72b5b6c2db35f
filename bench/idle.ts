import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { WebSocket } from 'ws';
import { connectHost, connectMessage, connectQuery, USER_ID_HASH_BYTES } from '../protocol/connect';
import { sleep } from './measure';

/**
 * Connected users that do nothing: raw WebSockets, each a fresh identity signing the ARCH §4.2 connect
 * request with node:crypto (fast enough for a thousand) and sending `pk`, as an unregistered client does.
 */
export async function openIdleSockets(url: string, count: number, concurrency = 8): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        sockets.push(await openIdle(url));
      }
    }),
  );
  return sockets;
}

async function openIdle(url: string): Promise<WebSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`${url}/?${signedQuery(connectHost(url))}`);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
        socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      });
    } catch (error) {
      // The source IP's connect bucket refuses the loser of a concurrent conditional write: try again.
      if (attempt >= 8) throw error;
      await sleep(10 * attempt);
    }
  }
}

function signedQuery(host: string): string {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const uid = createHash('sha512').update(raw).digest().subarray(0, USER_ID_HASH_BYTES).toString('base64url');
  const fields = { uid, dev: 1, ts: Date.now(), nonce: randomBytes(16).toString('base64url') };
  const sig = sign(null, Buffer.from(connectMessage({ ...fields, host }), 'utf8'), privateKey).toString('base64url');
  return connectQuery({ ...fields, sig, pk: raw.toString('base64url') });
}

export async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.readyState === WebSocket.CLOSED) return resolve();
          s.once('close', () => resolve());
          s.terminate();
        }),
    ),
  );
}
