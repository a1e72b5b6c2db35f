/**
 * Loads an optional runtime module (`ws`, `node:fs/promises`) only when it is needed, so the SDK
 * bundles for browsers. `import()` first; CommonJS `require` where a sandbox refuses dynamic import
 * (jest's vm without --experimental-vm-modules), so apps can unit-test against the SDK. Callers pass
 * both loaders with literal specifiers, which bundlers can see and mark external.
 */
export async function importOrRequire<T>(viaImport: () => Promise<T>, viaRequire: () => T): Promise<T> {
  try {
    return await viaImport();
  } catch (err) {
    if (typeof require !== 'function') throw err;
    return viaRequire();
  }
}
