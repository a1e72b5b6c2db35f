import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol/base64url';
import { changeEncoding, changeId, type GroupChange, type GroupSigner, type SignedGroupChange, signChange } from '../../client-sdk/src/groups/change';
import { deriveGroupId } from '../../client-sdk/src/groups/group-id';
import { certifyDevice, userIdFromSigningKey } from '../../client-sdk/src/identity/keys';
import { hex, toHex } from '../crypto/vectors';

/**
 * The group-change transcript (test/vectors/group-change-transcript.json): a group founded by Alice's device 1
 * and changed by it and by a linked device of Bob's, every change signed with keys from fixed seeds. Ed25519
 * is deterministic, so the encodings, ids and signatures are fixed outputs.
 */
export interface GroupTranscriptInput {
  readonly groupName: string;
  readonly aliceSeed: string;
  readonly bobAccountSeed: string;
  readonly bobDeviceSeed: string;
  readonly bobDevice: number;
  /** base64url of 16 bytes. */
  readonly nonce: string;
  /** A user id with no key: a member who never signs. */
  readonly carol: string;
}

export interface GroupTranscriptOutput {
  readonly group: string;
  readonly changes: readonly {
    readonly epoch: number;
    readonly parents: readonly string[];
    readonly encoding: string;
    readonly id: string;
    readonly sig: string;
  }[];
}

function signerFromSeed(seed: string): GroupSigner {
  const keys = nacl.sign.keyPair.fromSeed(hex(seed));
  return {
    userId: userIdFromSigningKey(keys.publicKey),
    device: 1,
    signingPublicKey: keys.publicKey,
    deviceSigningPublicKey: keys.publicKey,
    deviceSigningSecretKey: keys.secretKey,
    cert: null,
  };
}

/** The signers and the changes, in order, each with the epoch it is signed at; each names the one before as its parent. */
export function transcriptScript(input: GroupTranscriptInput): {
  group: string;
  steps: { signer: GroupSigner; epoch: number; change: GroupChange }[];
} {
  const alice = signerFromSeed(input.aliceSeed);
  const bobAccount = nacl.sign.keyPair.fromSeed(hex(input.bobAccountSeed));
  const bobDevice = nacl.sign.keyPair.fromSeed(hex(input.bobDeviceSeed));
  const bob: GroupSigner = {
    userId: userIdFromSigningKey(bobAccount.publicKey),
    device: input.bobDevice,
    signingPublicKey: bobAccount.publicKey,
    deviceSigningPublicKey: bobDevice.publicKey,
    deviceSigningSecretKey: bobDevice.secretKey,
    cert: certifyDevice(bobDevice.publicKey, bobAccount.secretKey),
  };
  const genesis = { kind: 'create' as const, nonce: input.nonce, maxMembers: 1000, name: input.groupName, members: [bob.userId] };
  const group = deriveGroupId(alice.userId, genesis);
  return {
    group,
    steps: [
      { signer: alice, epoch: 0, change: genesis },
      { signer: alice, epoch: 1, change: { kind: 'add', members: [input.carol] } },
      { signer: alice, epoch: 2, change: { kind: 'promote', members: [bob.userId] } },
      { signer: bob, epoch: 3, change: { kind: 'rename', name: `${input.groupName} ✓` } },
      { signer: bob, epoch: 4, change: { kind: 'remove', members: [input.carol] } },
      { signer: alice, epoch: 5, change: { kind: 'leave' } },
    ],
  };
}

/** The script's changes signed in order, each naming the one before as its only parent. */
export function signedScript(input: GroupTranscriptInput): { group: string; signed: SignedGroupChange[] } {
  const { group, steps } = transcriptScript(input);
  const signed: SignedGroupChange[] = [];
  for (const { signer, epoch, change } of steps) {
    const before = signed.at(-1);
    signed.push(signChange(signer, group, epoch, before ? [changeId(before)] : [], change));
  }
  return { group, signed };
}

export function groupTranscript(input: GroupTranscriptInput): GroupTranscriptOutput {
  const { group, signed: all } = signedScript(input);
  return {
    group,
    changes: all.map((signed) => {
      return {
        epoch: signed.epoch,
        parents: [...signed.parents],
        encoding: toHex(changeEncoding(signed)),
        id: changeId(signed),
        sig: toHex(Uint8Array.from(Buffer.from(signed.sig, 'base64url'))),
      };
    }),
  };
}

/** Base64url of `bytes`, as the transcript's inputs are written. */
export function b64(bytes: Uint8Array): string {
  return toBase64Url(bytes);
}
