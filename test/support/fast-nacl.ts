import { readFileSync } from 'node:fs';

/**
 * tweetnacl, unchanged, but evaluated with the globals it uses in hot loops bound as parameters.
 * Jest runs tests in a vm context where every global lookup is slow, and tweetnacl looks up
 * `Float64Array` on each field element it allocates: without this, key generation and signing
 * run ~15x slower under jest than in Node or a browser. Use from a test file with
 * `jest.mock('tweetnacl', …)` in test/setup-nacl.ts, for every suite.
 */
export function loadFastNacl(): unknown {
  const source = readFileSync(require.resolve('tweetnacl/nacl-fast.js'), 'utf8');
  const factory = new Function('module', 'exports', 'require', 'Float64Array', 'Uint8Array', 'Int32Array', 'Uint32Array', 'Math', source);
  const module = { exports: {} };
  factory(module, module.exports, require, Float64Array, Uint8Array, Int32Array, Uint32Array, Math);
  return module.exports;
}
