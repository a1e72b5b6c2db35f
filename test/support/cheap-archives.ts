import type * as ArchiveFormat from '../../client-sdk/src/archive/format';

/**
 * scrypt at the production N = 2^17 costs 128 MiB and about a second for every archive sealed or
 * opened. A suite about what an archive carries, not about its cost, mocks the format module with
 * this, so that the client seals at 2^10 and opens from 2^10 up (the test's own explicit options still
 * win):
 *
 *   jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());
 *
 * test/sdk/archive.test.ts checks the production parameters with `atProductionCost`.
 */
export const TEST_LOG_N = 10;

const cost = { production: false };

export function cheapArchiveFormat(): typeof ArchiveFormat {
  const actual = jest.requireActual<typeof ArchiveFormat>('../../client-sdk/src/archive/format');
  return {
    ...actual,
    sealArchive: (contents, passphrase, options = {}) =>
      actual.sealArchive(contents, passphrase, cost.production ? options : { logN: TEST_LOG_N, ...options }),
    openArchive: (archive, passphrase, options = {}) =>
      actual.openArchive(archive, passphrase, cost.production ? options : { minLogN: TEST_LOG_N, ...options }),
  };
}

/** Runs `use` with the mocked module sealing and opening at the production defaults. */
export async function atProductionCost<T>(use: () => Promise<T>): Promise<T> {
  cost.production = true;
  try {
    return await use();
  } finally {
    cost.production = false;
  }
}
