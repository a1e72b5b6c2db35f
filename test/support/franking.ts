import { randomBytes } from 'node:crypto';
import { toBase64Url } from '../../protocol';

/** A well-formed commitment for frames whose franking the test does not look at. */
export const anyCommitment = (): string => toBase64Url(new Uint8Array(randomBytes(32)));

/** Franking fields for a message a test puts straight into a queue. */
export const placeholderFrank = () => ({ commitment: anyCommitment(), tag: anyCommitment(), kid: 'k1' });
