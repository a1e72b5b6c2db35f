import nacl from 'tweetnacl';
import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { Device, PublicKey, Signature, UserId } from '../../../protocol/frames';
import { concatBytes, equalBytes, u32be } from '../crypto/bytes';
import { isKey } from '../crypto/state-checks';
import { userIdFromSigningKey, verifyDeviceCert } from '../identity/keys';
import type { Identity } from '../identity/identity';
import { deriveGroupId, GROUP_NONCE_BYTES, isGroupId } from './group-id';

/**
 * One signed group change (ARCH §8.8): what it does, the group it belongs to, its epoch, and its author,
 * signed by the author's device signing key over the digest of a canonical binary encoding.
 *
 *   encoding  = "ebb-group-change-v2" ‖ 0x00 ‖ str(group) ‖ u32(epoch) ‖ list32(parents) ‖ str(user)
 *               ‖ u32(device) ‖ device key (32) ‖ u8(kind) ‖ body
 *   body      = create: nonce (16) ‖ u32(maxMembers) ‖ str(name) ‖ list(members)
 *               add, remove, promote: list(members) · rename: str(name) · leave: nothing
 *   str(s)    = u32(UTF-8 length) ‖ UTF-8 · list(xs) = u32(count) ‖ str(x)…
 *   list32(ids) = u32(count) ‖ the raw 32 bytes of each id (sorted bytewise, no duplicates)
 *   digest    = SHA-512(encoding);  id = base64url(digest[0..32])
 *   signature = Ed25519("ebb-group-change-sig-v2" ‖ 0x00 ‖ digest)
 *
 * The parents are the ids of the changes the author had applied and that no other applied change it held
 * named as a parent (its heads), at most MAX_GROUP_PARENTS: they put the changes in a causal order (ARCH
 * §8.8). A `create` has none and epoch 0; any other change has 1 to MAX_GROUP_PARENTS and its epoch is one
 * more than the highest epoch among them, which the state checks once it holds them (state.ts).
 *
 * The signature covers the digest, not the encoding: tweetnacl hashes a signed message far more slowly than
 * `nacl.hash` does, and a change naming 256 members (~9 KB) took ~60 ms to verify whole, ~10 ms this way.
 * SHA-512's collision resistance makes signing the digest as binding as signing the bytes.
 *
 * The record carries the author's key material, so anyone can check it with no lookup: the user id is
 * derived from the account key (ARCH §4.1), device 1 signs with the account key itself, and a linked
 * device with a device key whose cert verifies under the account key (ARCH §4.6). That is sound because
 * user ids are self-certifying: no key but the account's, or one it certified, can speak for the user.
 * It is also what makes every member decide alike, whatever it knows about the author's devices, which
 * convergence needs. A device removed from its account keeps a valid cert; the server refuses its
 * connects, so it can hand a change only to a member that takes it from someone else (the wiring takes
 * changes only from their author's device, or inside a snapshot).
 *
 * The id hashes the encoding, not the signature: Ed25519 signatures need not be unique, and one change
 * re-signed must stay one change.
 */

/** A group's display name: 1 to 100 UTF-16 units, no control characters, not only spaces. */
export const MAX_GROUP_NAME_LENGTH = 100;
/**
 * Most members one `create`, `add`, `remove` or `promote` names. A change at this size (~9.5 KB of JSON)
 * fits one control message under the default `maxCiphertextBytes`; a larger list is split over changes.
 */
export const MAX_MEMBERS_PER_CHANGE = 256;

/** The highest `maxGroupSize` a deployment may configure (protocol/config.ts). */
export const MAX_GROUP_SIZE_CEILING = 10_000;

/** Most parents one change names: past that, an author names the 16 highest of its heads in the order. */
export const MAX_GROUP_PARENTS = 16;

export type GroupChange =
  | {
      readonly kind: 'create';
      readonly nonce: string;
      /** The most members the group may have, creator included: the deployment's `maxGroupSize` at creation. */
      readonly maxMembers: number;
      readonly name: string;
      readonly members: readonly string[];
    }
  | { readonly kind: 'add'; readonly members: readonly string[] }
  | { readonly kind: 'remove'; readonly members: readonly string[] }
  | { readonly kind: 'rename'; readonly name: string }
  | { readonly kind: 'promote'; readonly members: readonly string[] }
  | { readonly kind: 'leave' };

export type GroupChangeKind = GroupChange['kind'];

/** Who made a change, with the keys that prove it (bytes as base64url). */
export interface ChangeAuthor {
  readonly user: string;
  readonly device: number;
  /** The account signing key: `user` is derived from it. */
  readonly accountKey: string;
  /** The key that signed: the account key on device 1. */
  readonly deviceKey: string;
  /** The account key's certificate for `deviceKey`; null on device 1. */
  readonly cert: string | null;
}

/** A change as it travels and as it is stored: plain JSON. */
export interface SignedGroupChange {
  readonly v: 2;
  readonly group: string;
  /** 0 for `create`; otherwise one more than the highest epoch among its parents, so it sorts after all of them. */
  readonly epoch: number;
  /** The ids of the author's heads when it signed (see the module comment), sorted bytewise; none for `create`. */
  readonly parents: readonly string[];
  readonly author: ChangeAuthor;
  readonly change: GroupChange;
  /** Ed25519 by `author.deviceKey` over the signed bytes. */
  readonly sig: string;
}

/** The parts of an Identity a change is signed with. */
export type GroupSigner = Pick<Identity, 'userId' | 'device' | 'signingPublicKey' | 'deviceSigningPublicKey' | 'deviceSigningSecretKey' | 'cert'>;

const ENCODING_CONTEXT = new TextEncoder().encode('ebb-group-change-v2\0');
const SIGNATURE_CONTEXT = new TextEncoder().encode('ebb-group-change-sig-v2\0');
const KIND_CODES: Record<GroupChangeKind, number> = { create: 1, add: 2, remove: 3, rename: 4, promote: 5, leave: 6 };
/** Bytes of SHA-512 an id keeps. */
const ID_BYTES = 32;
const encoder = new TextEncoder();

/** Whether `name` may name a group. */
export function isGroupName(name: unknown): name is string {
  return typeof name === 'string' && name.length >= 1 && name.length <= MAX_GROUP_NAME_LENGTH && !/\p{Cc}/u.test(name) && name.trim() !== '';
}

const GroupId = v.pipe(
  v.string(),
  v.check((s) => isGroupId(s), 'must be a group id'),
);
const Name = v.pipe(
  v.string(),
  v.check((s) => isGroupName(s), 'must be a group name'),
);
const Members = v.pipe(
  v.array(UserId),
  v.minLength(1),
  v.maxLength(MAX_MEMBERS_PER_CHANGE),
  v.check((m) => distinct(m), 'must not repeat a member'),
);

const Change = v.variant('kind', [
  v.pipe(
    v.strictObject({
      kind: v.literal('create'),
      nonce: v.pipe(
        v.string(),
        v.check((n) => isKey(n, GROUP_NONCE_BYTES)),
      ),
      maxMembers: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(MAX_GROUP_SIZE_CEILING)),
      name: Name,
      // A group may start with its creator alone.
      members: v.pipe(
        v.array(UserId),
        v.maxLength(MAX_MEMBERS_PER_CHANGE),
        v.check((m) => distinct(m), 'must not repeat a member'),
      ),
    }),
    v.check((c) => c.members.length + 1 <= c.maxMembers, 'must not start with more than maxMembers'),
  ),
  v.strictObject({ kind: v.literal('add'), members: Members }),
  v.strictObject({ kind: v.literal('remove'), members: Members }),
  v.strictObject({ kind: v.literal('rename'), name: Name }),
  v.strictObject({ kind: v.literal('promote'), members: Members }),
  v.strictObject({ kind: v.literal('leave') }),
]);

/** The shape of a change (not its signature): what decodeChanges and the stored-state parser accept. */
export const SignedGroupChangeSchema = v.strictObject({
  v: v.literal(2),
  group: GroupId,
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
  parents: v.pipe(
    v.array(
      v.pipe(
        v.string(),
        v.check((id: string) => isChangeId(id), 'must be a change id'),
      ),
    ),
    v.maxLength(MAX_GROUP_PARENTS),
  ),
  author: v.strictObject({
    user: UserId,
    device: Device,
    accountKey: v.pipe(
      PublicKey,
      v.check((k) => isKey(k, nacl.sign.publicKeyLength)),
    ),
    deviceKey: v.pipe(
      PublicKey,
      v.check((k) => isKey(k, nacl.sign.publicKeyLength)),
    ),
    cert: v.nullable(
      v.pipe(
        Signature,
        v.check((s) => isKey(s, nacl.sign.signatureLength)),
      ),
    ),
  }),
  change: Change,
  sig: v.pipe(
    Signature,
    v.check((s) => isKey(s, nacl.sign.signatureLength)),
  ),
});

/** The canonical encoding of everything a change says but its signature (see the module comment). */
export function changeEncoding(c: Omit<SignedGroupChange, 'sig'>): Uint8Array {
  const parts: Uint8Array[] = [ENCODING_CONTEXT, str(c.group), u32be(c.epoch), u32be(c.parents.length), ...c.parents.map(fromBase64Url)];
  parts.push(str(c.author.user), u32be(c.author.device));
  parts.push(fromBase64Url(c.author.deviceKey), new Uint8Array([KIND_CODES[c.change.kind]]));
  const change = c.change;
  switch (change.kind) {
    case 'create':
      parts.push(fromBase64Url(change.nonce), u32be(change.maxMembers), str(change.name), list(change.members));
      break;
    case 'add':
    case 'remove':
    case 'promote':
      parts.push(list(change.members));
      break;
    case 'rename':
      parts.push(str(change.name));
      break;
    case 'leave':
      break;
  }
  return concatBytes(...parts);
}

/** SHA-512 of the encoding: the id is its first half, and the signature covers all of it. */
export function changeDigest(c: Omit<SignedGroupChange, 'sig'>): Uint8Array {
  return nacl.hash(changeEncoding(c));
}

/** What the author's device key signs for a change with this digest. */
export function changeSignatureInput(digest: Uint8Array): Uint8Array {
  return concatBytes(SIGNATURE_CONTEXT, digest);
}

/** A change's id: what orders changes of one epoch and names a change once, however often it arrives. */
export function changeId(c: Omit<SignedGroupChange, 'sig'>): string {
  return idOf(changeDigest(c));
}

/**
 * Signs `change` for `group` at `epoch` after `parents` as `signer`'s device. The inputs are trusted: the caller
 * checked them (state.ts takes both from the group's heads). `parents` are sorted here.
 */
export function signChange(signer: GroupSigner, group: string, epoch: number, parents: readonly string[], change: GroupChange): SignedGroupChange {
  const unsigned = {
    v: 2 as const,
    group,
    epoch,
    parents: sortIds(parents),
    author: {
      user: signer.userId,
      device: signer.device,
      accountKey: toBase64Url(signer.signingPublicKey),
      deviceKey: toBase64Url(signer.deviceSigningPublicKey),
      cert: signer.cert === null ? null : toBase64Url(signer.cert),
    },
    change,
  };
  const sig = nacl.sign.detached(changeSignatureInput(changeDigest(unsigned)), signer.deviceSigningSecretKey);
  return { ...unsigned, sig: toBase64Url(sig) };
}

/**
 * Remembers which (account key, device key, cert) triples verified, so a history by a few devices costs one
 * cert check per device rather than per change (tweetnacl verifies ~100 signatures a second).
 */
export type CertCache = Set<string>;

/**
 * Changes that verified, most recent last, so that one seen again — in a snapshot that arrives in parts and is
 * checked again as each part comes, in a relay, on every member view of a test — costs a hash, not ~10 ms of
 * Ed25519. The key holds every field the verdict depends on: the id covers all the signed ones. Only
 * successes are kept, so forged changes cannot push genuine ones out faster than genuine ones arrive.
 */
const verified = new Map<string, true>();
const MAX_VERIFIED = 4096;

/**
 * Whether `c`, already of the right shape, is genuinely its author's: the account key names the user, the
 * device key is the account key (device 1) or certified by it, the signature verifies, and a `create` is
 * at epoch 0, does not name its author among the members, and founds exactly the group it names (so only
 * the group's creator can make one) with no parents; any other change is at an epoch above 0 with 1 to
 * MAX_GROUP_PARENTS parents, sorted bytewise and none twice. That its epoch follows from its parents' is the
 * state's check, once it holds them. Never throws.
 */
export function verifyChange(c: SignedGroupChange, certs: CertCache = new Set()): boolean {
  const { author } = c;
  const digest = changeDigest(c);
  const key = `${idOf(digest)}.${c.sig}.${author.accountKey}.${author.cert}`;
  if (verified.delete(key)) {
    verified.set(key, true);
    return true;
  }
  const accountKey = fromBase64Url(author.accountKey);
  const deviceKey = fromBase64Url(author.deviceKey);
  if (userIdFromSigningKey(accountKey) !== author.user) return false;
  if (c.change.kind === 'create') {
    // The creator is the first member by authorship; naming it again would list it twice.
    if (c.epoch !== 0 || c.parents.length !== 0 || c.change.members.includes(author.user)) return false;
    if (deriveGroupId(author.user, c.change) !== c.group) return false;
  } else if (c.epoch === 0 || c.parents.length === 0 || c.parents.length > MAX_GROUP_PARENTS || !strictlySorted(c.parents)) {
    return false;
  }
  if (author.device === 1) {
    if (author.cert !== null || !equalBytes(accountKey, deviceKey)) return false;
  } else {
    if (author.cert === null) return false;
    const triple = `${author.accountKey}.${author.deviceKey}.${author.cert}`;
    if (!certs.has(triple)) {
      if (!verifyDeviceCert(accountKey, deviceKey, fromBase64Url(author.cert))) return false;
      certs.add(triple);
    }
  }
  if (!nacl.sign.detached.verify(changeSignatureInput(digest), fromBase64Url(c.sig), deviceKey)) return false;
  verified.set(key, true);
  if (verified.size > MAX_VERIFIED) verified.delete(verified.keys().next().value!);
  return true;
}

/** A list of changes as a control message's body carries them: UTF-8 JSON. */
export function encodeChanges(changes: readonly SignedGroupChange[]): Uint8Array {
  return encoder.encode(JSON.stringify(changes));
}

/**
 * `changes` in order, in lists whose `encodeChanges` is at most `maxBytes` long: a snapshot is sent over as
 * many control messages as it needs. A change longer than `maxBytes` alone goes in a list of its own.
 */
export function batchChanges(changes: readonly SignedGroupChange[], maxBytes: number): SignedGroupChange[][] {
  const batches: SignedGroupChange[][] = [];
  let batch: SignedGroupChange[] = [];
  let size = 2; // the brackets
  for (const change of changes) {
    const length = encoder.encode(JSON.stringify(change)).length + 1; // and a comma
    if (batch.length > 0 && size + length > maxBytes) {
      batches.push(batch);
      batch = [];
      size = 2;
    }
    batch.push(change);
    size += length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The changes in `bytes`, or null unless every one has the right shape (signatures are checked on receipt). */
export function decodeChanges(bytes: Uint8Array): SignedGroupChange[] | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  const parsed = v.safeParse(v.array(SignedGroupChangeSchema), value);
  return parsed.success ? parsed.output : null;
}

/** Whether `value` is a change id: base64url of 32 bytes, in the one encoding toBase64Url writes. */
export function isChangeId(value: unknown): value is string {
  return typeof value === 'string' && CHANGE_ID_SHAPE.test(value) && toBase64Url(fromBase64Url(value)) === value;
}
const CHANGE_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Bytewise order of two change ids (base64url's alphabet is not in byte order, so decode). */
export function compareIds(a: string, b: string): number {
  const x = fromBase64Url(a);
  const y = fromBase64Url(b);
  for (let i = 0; i < x.length && i < y.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** `ids` sorted bytewise, as a change lists its parents. */
export function sortIds(ids: readonly string[]): string[] {
  return [...ids].sort(compareIds);
}

function strictlySorted(ids: readonly string[]): boolean {
  for (let i = 1; i < ids.length; i++) if (compareIds(ids[i - 1]!, ids[i]!) >= 0) return false;
  return true;
}

function idOf(digest: Uint8Array): string {
  return toBase64Url(digest.subarray(0, ID_BYTES));
}

function str(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  return concatBytes(u32be(bytes.length), bytes);
}

function list(items: readonly string[]): Uint8Array {
  return concatBytes(u32be(items.length), ...items.map(str));
}

function distinct(items: readonly string[]): boolean {
  return new Set(items).size === items.length;
}
