// Every suite loads tweetnacl with its hot-loop globals bound locally (see test/support/fast-nacl.ts).
jest.mock('tweetnacl', () => jest.requireActual('./support/fast-nacl').loadFastNacl());
