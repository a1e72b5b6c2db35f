import nacl from 'tweetnacl';
import { BASE64URL_PATTERN, fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { EbbError } from '../errors';
import { concatBytes, u32be } from '../crypto/bytes';
import { randomBytes } from '../crypto/random';

/**
 * Group ids (ARCH §8.8): 16 bytes, base64url without padding (22 characters). The bytes are the first 16 of
 *   SHA-512("ebb-group-id-v2" ‖ 0x00 ‖ creator's user id ‖ 0x00 ‖ 16 random bytes ‖ u32(maxMembers)
 *           ‖ u32(len) ‖ name (UTF-8) ‖ u32(count) ‖ (u32(len) ‖ member)…),
 * not the random bytes themselves: they look just as random to everyone else, and they bind the id to its
 * creator and to everything its `create` founds it with, so only the creator can sign that `create`, and a
 * second `create` of the same id with other content would need a SHA-512 collision (first 16 bytes: a 2^64
 * birthday search by the creator, against its own group only). A new member can therefore check a group's
 * history from its root, without trusting the member that handed it over.
 */

/** Bytes in a group id. */
export const GROUP_ID_BYTES = 16;
/** Characters of a group id in base64url. */
export const GROUP_ID_LENGTH = 22;
/** Random bytes a `create` change carries to make its group's id. */
export const GROUP_NONCE_BYTES = 16;

const GROUP_ID_CONTEXT = new TextEncoder().encode('ebb-group-id-v2');
const GROUP_ID_SHAPE = /^[A-Za-z0-9_-]{22}$/;

/** Whether `value` is a group id in the one encoding the SDK writes. */
export function isGroupId(value: unknown): value is string {
  return typeof value === 'string' && GROUP_ID_SHAPE.test(value) && canonical(value);
}

/**
 * `value` as a group id.
 * @throws EbbError BAD_REQUEST (not retryable) with reason `malformed-group-id` when it is not one.
 */
export function parseGroupId(value: unknown): string {
  if (!isGroupId(value)) {
    throw new EbbError('BAD_REQUEST', `group id: expected ${GROUP_ID_LENGTH} base64url characters`, {
      retryable: false,
      reason: 'malformed-group-id',
    });
  }
  return value;
}

/** What a `create` founds a group with: its nonce (base64url of GROUP_NONCE_BYTES) and its content. */
export interface GroupGenesis {
  readonly nonce: string;
  readonly maxMembers: number;
  readonly name: string;
  readonly members: readonly string[];
}

/** The id of the group that `creator` founds with `genesis`. */
export function deriveGroupId(creator: string, genesis: GroupGenesis): string {
  const encoder = new TextEncoder();
  const str = (s: string): Uint8Array => {
    const bytes = encoder.encode(s);
    return concatBytes(u32be(bytes.length), bytes);
  };
  const input = concatBytes(
    GROUP_ID_CONTEXT,
    new Uint8Array([0]),
    encoder.encode(creator),
    new Uint8Array([0]),
    fromBase64Url(genesis.nonce),
    u32be(genesis.maxMembers),
    str(genesis.name),
    u32be(genesis.members.length),
    ...genesis.members.map(str),
  );
  return toBase64Url(nacl.hash(input).subarray(0, GROUP_ID_BYTES));
}

/** A fresh nonce for a `create` change. */
export function newGroupNonce(): string {
  return toBase64Url(randomBytes(GROUP_NONCE_BYTES));
}

/** Only the encoding toBase64Url writes: 22 characters leave 4 spare bits, which must be zero. */
function canonical(value: string): boolean {
  return BASE64URL_PATTERN.test(value) && toBase64Url(fromBase64Url(value)) === value;
}
