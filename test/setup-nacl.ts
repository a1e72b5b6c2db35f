// Every suite loads tweetnacl with its hot-loop globals bound locally, and its Ed25519, X25519 and SHA-512 answered
// by node:crypto with the same bytes (see test/support/fast-nacl.ts; test/crypto/fast-nacl.test.ts holds it to that).
jest.mock('tweetnacl', () => {
  const { loadFastNacl, withNodeCrypto } = jest.requireActual('./support/fast-nacl');
  return withNodeCrypto(loadFastNacl());
});
