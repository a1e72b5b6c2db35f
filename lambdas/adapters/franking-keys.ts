import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { toBase64Url } from '../../protocol/base64url';
import type { Clock, FrankingKey, FrankingKeys } from '../core/ports';
import type { AdapterContext } from './wiring';

/**
 * The franking keyring (ARCH §9.3) as stored: a flat JSON object, so CloudFormation can create the first
 * version with a generated secret (`generateStringKey: "k1"`):
 *
 *   { "current": "k2", "k1": "<secret>", "k2": "<secret>", "retired": { "k1": 1767225600000 } }
 *
 * Every `k<n>` member is a key (its UTF-8 bytes are the HMAC key, at least 32 characters); `current` names
 * the one new messages are tagged with; `retired` says when each former key stopped being current. A retired
 * key still verifies reports for `retentionDays` — as long as the messages it tagged can be held — and is
 * dropped by the next rotation after that. Rotate with `ebb-admin franking rotate`.
 */
export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, string>;
  /** Epoch ms each former key stopped being current. */
  readonly retired: ReadonlyMap<string, number>;
}

const KID = /^k[0-9]{1,9}$/;
const MIN_SECRET_CHARS = 32;
const DAY_MS = 86_400_000;

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/** Parses a stored keyring; the error names what is wrong, never a key. */
export function parseKeyring(text: string): Keyring {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyringError('franking keyring: not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new KeyringError('franking keyring: not an object');
  const record = json as Record<string, unknown>;
  const keys = new Map<string, string>();
  for (const [name, value] of Object.entries(record)) {
    if (!KID.test(name)) continue;
    if (typeof value !== 'string' || value.length < MIN_SECRET_CHARS) {
      throw new KeyringError(`franking keyring: ${name} must be a string of at least ${MIN_SECRET_CHARS} characters`);
    }
    keys.set(name, value);
  }
  const current = record.current;
  if (typeof current !== 'string' || !keys.has(current)) throw new KeyringError('franking keyring: current must name one of its k<n> keys');
  const retired = new Map<string, number>();
  const given = record.retired ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new KeyringError('franking keyring: retired must be an object');
  for (const [name, at] of Object.entries(given)) {
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new KeyringError(`franking keyring: retired.${name} must be epoch milliseconds`);
    retired.set(name, at);
  }
  return { current, keys, retired };
}

export function serializeKeyring(keyring: Keyring): string {
  return JSON.stringify({ current: keyring.current, ...Object.fromEntries(keyring.keys), retired: Object.fromEntries(keyring.retired) });
}

/** A fresh keyring with one key: what the local stack starts with. */
export function newKeyring(randomBytes: (n: number) => Uint8Array): Keyring {
  return { current: 'k1', keys: new Map([['k1', toBase64Url(randomBytes(32))]]), retired: new Map() };
}

/**
 * Makes a new key current and retires the old one now. Keys retired longer than `retentionDays` ago are
 * dropped: no message they tagged can still be held, so no report can need them.
 */
export function rotateKeyring(keyring: Keyring, randomBytes: (n: number) => Uint8Array, nowMs: number, retentionDays: number): Keyring {
  const highest = Math.max(...[...keyring.keys.keys()].map((kid) => Number(kid.slice(1))));
  const next = `k${highest + 1}`;
  const retired = new Map(keyring.retired);
  retired.set(keyring.current, nowMs);
  const keys = new Map<string, string>();
  for (const [kid, secret] of keyring.keys) {
    const at = retired.get(kid);
    if (at !== undefined && nowMs - at > retentionDays * DAY_MS) {
      retired.delete(kid);
      continue;
    }
    keys.set(kid, secret);
  }
  keys.set(next, toBase64Url(randomBytes(32)));
  for (const kid of retired.keys()) if (!keys.has(kid)) retired.delete(kid);
  return { current: next, keys, retired };
}

/** The keys of `keyring` a report may name at `nowMs`: the current one and those retired within `retentionDays`. */
export function acceptedKey(keyring: Keyring, kid: string, nowMs: number, retentionDays: number): FrankingKey | undefined {
  const secret = keyring.keys.get(kid);
  if (secret === undefined) return undefined;
  const retiredAt = keyring.retired.get(kid);
  if (kid !== keyring.current && retiredAt !== undefined && nowMs - retiredAt > retentionDays * DAY_MS) return undefined;
  return { kid, key: new TextEncoder().encode(secret) };
}

/** A keyring read through `load`, cached for `cacheMs` so a rotation reaches every warm Lambda within that. */
export class KeyringFrankingKeys implements FrankingKeys {
  private cached: { keyring: Keyring; at: number } | undefined;

  constructor(
    private readonly load: () => Promise<string>,
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly cacheMs = 5 * 60_000,
  ) {}

  async current(): Promise<FrankingKey> {
    const keyring = await this.keyring();
    return acceptedKey(keyring, keyring.current, this.clock.now(), this.retentionDays)!;
  }

  async find(kid: string): Promise<FrankingKey | undefined> {
    const keyring = await this.keyring();
    const found = acceptedKey(keyring, kid, this.clock.now(), this.retentionDays);
    if (found || !this.cached || this.clock.now() - this.cached.at < 1000) return found;
    // A kid this copy does not know may be newer than the cache: read once more before refusing.
    this.cached = undefined;
    return acceptedKey(await this.keyring(), kid, this.clock.now(), this.retentionDays);
  }

  private async keyring(): Promise<Keyring> {
    const now = this.clock.now();
    if (this.cached && now - this.cached.at < this.cacheMs) return this.cached.keyring;
    const keyring = parseKeyring(await this.load());
    this.cached = { keyring, at: now };
    return keyring;
  }
}

/** The keyring in Secrets Manager (the stack creates it), read with GetSecretValue. */
export function secretsManagerFrankingKeys(client: SecretsManagerClient, secretId: string, clock: Clock, retentionDays: number): FrankingKeys {
  return new KeyringFrankingKeys(
    async () => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof out.SecretString !== 'string') throw new KeyringError('franking keyring: the secret has no string value');
      return out.SecretString;
    },
    clock,
    retentionDays,
  );
}

/**
 * The keyring port: the options' own (the local stack's), else the secret named by `frankingSecret`. A handler
 * given neither fails on first use. Only this module names the Secrets Manager client (see port-adapters.ts).
 */
export const frankingKeyring = (c: AdapterContext): FrankingKeys => {
  if (c.options.frankingKeys) return c.options.frankingKeys();
  const secret = c.options.frankingSecret;
  if (!secret) throw new Error('EBB_FRANKING_SECRET is not set for this handler');
  return secretsManagerFrankingKeys(new SecretsManagerClient({}), secret, c.options.clock, c.options.config.retentionDays);
};
