import { scryptAsync } from '@noble/hashes/scrypt';
import nacl from 'tweetnacl';
import { concatBytes, equalBytes } from '../crypto/bytes';
import { randomBytes } from '../crypto/random';

/**
 * The archive container, version 1. Every byte is either compared exactly or feeds the key, so
 * any change is caught by secretbox's Poly1305 tag:
 *
 *   "EBBARCH1" (8) ‖ log2(N) (1) ‖ r (1) ‖ p (1) ‖ salt (16) ‖ nonce (24) ‖ secretbox(contents, nonce, key)
 *   key = scrypt(NFC(passphrase) as UTF-8, salt, N, r, p, dkLen = 32)   // RFC 7914
 */

const MAGIC = new TextEncoder().encode('EBBARCH1');
const SALT_LENGTH = 16;
/**
 * New archives use 2^17: 128 * r * N = 128 MiB of memory with r = 8, about a second in Node and in
 * browsers (noble's scrypt accepts up to 1 GiB by default), as costly per guess as the archive can afford.
 */
export const SEAL_LOG_N = 17;
/** 2^15 (32 MiB with r = 8): archives written before SEAL_LOG_N rose still open; nothing weaker does. */
export const MIN_LOG_N = 15;
/** A damaged or hostile header must not make an import allocate more than 256 MiB. */
const MAX_LOG_N = 18;
const R = 8;
const P = 1;
const PARAMS_OFFSET = MAGIC.length;
const SALT_OFFSET = PARAMS_OFFSET + 3;
const NONCE_OFFSET = SALT_OFFSET + SALT_LENGTH;
const BOX_OFFSET = NONCE_OFFSET + nacl.secretbox.nonceLength;

export interface SealOptions {
  /** log2 of scrypt's N. @default SEAL_LOG_N */
  readonly logN?: number;
}

export interface OpenOptions {
  /** The smallest log2(N) accepted. @default MIN_LOG_N */
  readonly minLogN?: number;
}

/** Encrypts `contents` under a key derived from `passphrase` with a fresh salt and nonce. */
export async function sealArchive(contents: Uint8Array, passphrase: string, options: SealOptions = {}): Promise<Uint8Array> {
  const logN = options.logN ?? SEAL_LOG_N;
  if (!Number.isInteger(logN) || logN < 1 || logN > MAX_LOG_N) throw new TypeError(`logN: expected a whole number from 1 to ${MAX_LOG_N}`);
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const key = await deriveKey(passphrase, salt, logN);
  const box = nacl.secretbox(contents, nonce, key);
  key.fill(0); // the key opens every secret in the archive: keep it no longer than needed
  return concatBytes(MAGIC, Uint8Array.of(logN, R, P), salt, nonce, box);
}

/**
 * The contents, or null when `archive` is not an archive sealed under `passphrase` (wrong
 * passphrase, any changed or missing byte, parameters out of range). Which check failed is not said.
 */
export async function openArchive(archive: Uint8Array, passphrase: string, options: OpenOptions = {}): Promise<Uint8Array | null> {
  const minLogN = options.minLogN ?? MIN_LOG_N;
  if (archive.length < BOX_OFFSET + nacl.secretbox.overheadLength) return null;
  if (!equalBytes(archive.subarray(0, MAGIC.length), MAGIC)) return null;
  const [logN, r, p] = archive.subarray(PARAMS_OFFSET, SALT_OFFSET);
  if (logN! < minLogN || logN! > MAX_LOG_N || r !== R || p !== P) return null;
  const key = await deriveKey(passphrase, archive.subarray(SALT_OFFSET, NONCE_OFFSET), logN!);
  const contents = nacl.secretbox.open(archive.subarray(BOX_OFFSET), archive.subarray(NONCE_OFFSET, BOX_OFFSET), key);
  key.fill(0);
  return contents;
}

/** NFC first, so the same passphrase typed on two platforms (composed or not) gives the same key. */
function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase.normalize('NFC')), salt, { N: 2 ** logN, r: R, p: P, dkLen: nacl.secretbox.keyLength });
}
