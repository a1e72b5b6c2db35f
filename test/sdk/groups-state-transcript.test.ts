import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { verifyChange } from '../../client-sdk/src/groups/change';
import { openGroup, receiveChanges } from '../../client-sdk/src/groups/state';
import { loadVectors, toHex } from '../crypto/vectors';
import { groupTranscript, type GroupTranscriptInput, type GroupTranscriptOutput, signedScript, transcriptScript } from './groups-transcript';

// Known answers recorded by test/vectors/generate-groups.ts: the encodings, the ids and the signatures
// of group changes are recomputed from the recorded seeds and compared byte for byte, so a reordered field,
// a changed context string or another hash fails here where a sign-then-verify round trip would still pass.

const vectors = loadVectors<GroupTranscriptInput & GroupTranscriptOutput & { name: string }>('group-change-transcript.json');

describe.each(vectors.tests.map((t) => [t.name, t] as const))('group change transcript: %s', (_name, t) => {
  it('signs every change to the recorded bytes, id and signature', () => {
    expect(groupTranscript(t)).toEqual({ group: t.group, changes: t.changes });
  });

  it('starts every encoding with the domain-separation context, and signs its digest under another', () => {
    const context = toHex(new TextEncoder().encode('ebb-group-change-v2\0'));
    for (const change of t.changes) expect(change.encoding.startsWith(context)).toBe(true);
    const { steps } = transcriptScript(t);
    const { signer } = steps[0]!;
    const signed = signedScript(t).signed[0]!;
    const digest = nacl.hash(Uint8Array.from(Buffer.from(t.changes[0]!.encoding, 'hex')));
    const input = new Uint8Array([...new TextEncoder().encode('ebb-group-change-sig-v2\0'), ...digest]);
    expect(nacl.sign.detached.verify(input, fromBase64Url(signed.sig), signer.deviceSigningPublicKey)).toBe(true);
    expect(t.changes[0]!.id).toBe(toBase64Url(digest.subarray(0, 32)));
  });

  it('the recorded signatures verify, and the changes fold as the script says', () => {
    const { steps } = transcriptScript(t);
    const { group, signed: all } = signedScript(t);
    const changes = all.map((signed, i) => {
      expect(signed.parents).toEqual(i === 0 ? [] : [t.changes[i - 1]!.id]);
      expect(signed.sig).toBe(toBase64Url(Uint8Array.from(Buffer.from(t.changes[i]!.sig, 'hex'))));
      expect(verifyChange(signed)).toBe(true);
      expect(verifyChange({ ...signed, sig: toBase64Url(fromBase64Url(signed.sig).reverse()) })).toBe(false);
      return signed;
    });
    const bob = steps[3]!.signer.userId;
    const opened = openGroup({ v: 2, group, changes: changes.slice(0, 1) }, bob)!;
    const final = receiveChanges(opened.state, changes.slice(1));
    expect(final.results.map((r) => r.status)).toEqual(['applied', 'applied', 'applied', 'applied', 'applied']);
    expect(final.state.info).toEqual({ id: group, name: 'ops ✓', members: [bob], admins: [bob] });
  });
});
