import { generateKeyPairSync } from 'node:crypto';

/**
 * The deployment's VAPID key pair (RFC 8292 §3.2: ECDSA on P-256), apart from the `web-push` sender so that the
 * setup function that makes it does not bundle that library.
 */

/** base64url, the public key an uncompressed P-256 point (65 bytes), the private key its 32-byte scalar. */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

/**
 * Parses the VAPID secret's value, `{"publicKey":"…","privateKey":"…"}` as the stack's setup function stores it.
 * @throws Error naming the field at fault, never its value.
 */
export function parseVapidKeys(json: string): VapidKeys {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('VAPID secret: not JSON');
  }
  const { publicKey, privateKey } = (value ?? {}) as Record<string, unknown>;
  if (typeof publicKey !== 'string' || !/^[A-Za-z0-9_-]{87}$/.test(publicKey) || !publicKey.startsWith('B')) {
    throw new Error('VAPID secret: publicKey must be a base64url uncompressed P-256 point (65 bytes)');
  }
  if (typeof privateKey !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(privateKey)) {
    throw new Error('VAPID secret: privateKey must be 32 bytes of base64url');
  }
  return { publicKey, privateKey };
}

/**
 * A fresh VAPID key pair (RFC 8292 §3.2: ECDSA on P-256), in the form `web-push` and `PushManager.subscribe`
 * take. Made once per deployment by its setup function, and once per start by the local stack.
 */
export function generateVapidKeys(): VapidKeys {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: jwk.d! };
}
