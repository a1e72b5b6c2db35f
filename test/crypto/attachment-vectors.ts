/** The files of the attachment transcript (test/vectors/attachment-transcript.json `plaintextRule`). */
export function attachmentPlaintext(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 251 + 13) & 0xff;
  return out;
}
