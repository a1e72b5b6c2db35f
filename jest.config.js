const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // Jest's default, one worker less than the cores, runs every suite one after another on CI's 2 cores;
  // many suites spend their time waiting on sockets and timers, so two workers there take far less time.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testSequencer: '<rootDir>/test/sequencer.js',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Transpile only: tsconfig.json's isolatedModules makes ts-jest compile file by file without a type-checking
  // program (`npm run typecheck` gates the types). Without it, two suites cost 31 s of CPU on a cold cache, not 5 s.
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup-nacl.ts'],
  globalSetup: '<rootDir>/test/global/setup.ts',
  globalTeardown: '<rootDir>/test/global/teardown.ts',
  testTimeout: 30000,
};
