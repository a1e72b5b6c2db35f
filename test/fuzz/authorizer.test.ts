/**
 * Issue #6 item 2: fuzzing the `$connect` query string (uid, dev, ts, nonce, sig, pk; extra and duplicate
 * parameters, odd encodings, huge values) through raw WebSocket upgrades. Properties, per attempt: the
 * answer is 101 exactly when the request is, after decoding (last value wins, as API Gateway does), a fresh
 * validly signed connect for the stack's own host, else 401 or 403 (never 500, never a hang-up). Per batch: no nonce item is created
 * by a refused attempt (nonces grow by the number of accepted ones), no account appears, and a valid
 * connect still works and answers `status`.
 *
 * Request targets stay under 9 KB: above Node's 16 KB header limit the HTTP server itself answers 431
 * before the gateway runs (API Gateway has its own limits there).
 */
import nacl from 'tweetnacl';
import fc from 'fast-check';
import { Limits, connectHost } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { TableCounter } from '../support/fuzz-tables';
import { rawUpgrade } from '../support/fuzz-upgrade';
import { connectParams, connectUrl, makeIdentity, registerFrame, type TestIdentity } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';

/** Fuzzed upgrade attempts, and attempts between two nonce-count checks. */
const UPGRADE_ATTEMPTS = 400;
const BATCH = 50;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const KEYS = ['uid', 'dev', 'ts', 'nonce', 'sig', 'pk'] as const;
const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'UID', 'uid ', '', 'x'];
const ODD_VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '+1',
  '01',
  '1.0',
  '1e1',
  '17',
  '16',
  '１',
  'NaN',
  'Infinity',
  '9'.repeat(17),
  'null',
  '\u0000',
  'é',
  '💥',
  '\ud800',
  '%',
  '&',
  '=',
  '#',
  '+',
];
const BAD_ESCAPES = ['%', '%z', '%zz', '%E0%80', '%C0%AF', '%FF', '%00', '%25', '%2'];

type Encoding = 'form' | 'percent' | 'minimal';
interface Part {
  key: string;
  value: string;
  encoding: Encoding;
  /** Text inserted into the encoded value (bad escapes). */
  junk?: { at: number; text: string };
}

type Op =
  | { kind: 'drop'; pick: number }
  | { kind: 'replace'; pick: number; value: string }
  | { kind: 'resize'; pick: number; delta: number }
  | { kind: 'flip'; pick: number; at: number }
  | { kind: 'duplicate'; pick: number; value: string | null; front: boolean }
  | { kind: 'extra'; key: string; value: string }
  | { kind: 'encode'; pick: number; encoding: Encoding }
  | { kind: 'escape'; pick: number; at: number; text: string }
  | { kind: 'huge'; pick: number; length: number }
  | { kind: 'reverse' };

interface Attempt {
  readonly registered: boolean;
  readonly withPk: boolean;
  /** Signed fields other than the defaults: a skewed clock, another device, a forged signature. */
  readonly skewMs: number;
  readonly dev: number;
  readonly forged: boolean;
  /** Signed for another host than the stack's (a URL captured at another deployment), or null. */
  readonly wrongHost: string | null;
  readonly ops: readonly Op[];
  readonly path: string;
}

const valueArb = fc.oneof(fc.constantFrom(...ODD_VALUES), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 90 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: valueArb }),
  fc.record({ kind: fc.constant('resize' as const), pick: fc.nat(), delta: fc.constantFrom(-2, -1, 1, 2) }),
  fc.record({ kind: fc.constant('flip' as const), pick: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat(), value: fc.option(valueArb, { nil: null }), front: fc.boolean() }),
  fc.record({ kind: fc.constant('extra' as const), key: fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 10 })), value: valueArb }),
  fc.record({ kind: fc.constant('encode' as const), pick: fc.nat(), encoding: fc.constantFrom<Encoding>('form', 'percent', 'minimal') }),
  fc.record({ kind: fc.constant('escape' as const), pick: fc.nat(), at: fc.nat(), text: fc.constantFrom(...BAD_ESCAPES) }),
  fc.record({ kind: fc.constant('huge' as const), pick: fc.nat(), length: fc.integer({ min: 100, max: 8000 }) }),
  fc.constant({ kind: 'reverse' as const }),
);
const attemptArb: fc.Arbitrary<Attempt> = fc.record({
  registered: fc.boolean(),
  withPk: fc.boolean(),
  skewMs: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(-50_000, 50_000, -70_000, 70_000, -1e12) }),
  dev: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(2, 16, 17, 99, 100) }),
  forged: fc.boolean().map((b) => b && Math.random() < 0.15),
  wrongHost: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('other.example', 'localhost', '127.0.0.1', '127.0.0.1:1') },
  ),
  ops: fc.array(opArb, { maxLength: 3 }),
  path: fc.constantFrom('/', '/', '/', '/anything', '/local'),
});

/** Percent-encodes the UTF-8 bytes of `value`: all of them, all but unreserved ones, or form style (space as +). */
function encode(value: string, encoding: Encoding): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (encoding !== 'percent' && /[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (encoding === 'form' && c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function targetOf(path: string, parts: readonly Part[]): string {
  const query = parts
    .map(({ key, value, encoding, junk }) => {
      let v = encode(value, encoding);
      if (junk) v = v.slice(0, junk.at % (v.length + 1)) + junk.text + v.slice(junk.at % (v.length + 1));
      return `${encode(key, 'form')}=${v}`;
    })
    .join('&');
  return `${path}?${query}`;
}

let stack: LocalStack;
let counter: TableCounter;
let alice: TestIdentity;
const outcomes: Record<string, number> = {};
let attempts = 0;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED }, sweepIntervalMs: 3_600_000 });
  counter = new TableCounter(stack, ['connections', 'rateLimits', 'prekeys', 'queue', 'usernames', 'reports']);
  // Failed attempts count in their own per-address bucket: made here, so the batches see it exist already.
  expect(await rawUpgrade(stack.url, '/?uid=x')).toBe(401);
  alice = makeIdentity();
  const socket = await RawSocket.open(connectUrl(stack.url, alice));
  expect(await socket.request(registerFrame(alice))).toMatchObject({ type: 'result', created: true });
  await socket.close();
});

afterAll(async () => {
  console.log(
    `fuzz authorizer: ${attempts} upgrade attempts; answers: ${Object.entries(outcomes)
      .map(([s, n]) => `${s}=${n}`)
      .join(' ')}`,
  );
  counter?.destroy();
  await stack?.stop();
});

async function validConnectStillWorks(): Promise<void> {
  const socket = await RawSocket.open(connectUrl(stack.url, alice, { withPk: false }));
  expect(await socket.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'open' });
  await socket.close();
}

describe('fuzzing the $connect query string', () => {
  it('answers 101 exactly for a fresh validly signed connect, else 401/403; refused attempts leave no nonce', async () => {
    let before = await counter.counts();
    let accepted = 0;
    let inBatch = 0;
    await fc.assert(
      fc.asyncProperty(attemptArb, async (attempt) => {
        const id = attempt.registered ? alice : makeIdentity();
        const signed = connectParams(id, {
          host: attempt.wrongHost ?? connectHost(stack.url),
          ts: Date.now() + attempt.skewMs,
          dev: attempt.dev,
          withPk: attempt.withPk,
          signWith: attempt.forged ? nacl.sign.keyPair().secretKey : undefined,
        });
        const parts: Part[] = KEYS.filter((k) => signed[k] !== undefined).map((key) => ({ key, value: String(signed[key]), encoding: 'form' }));
        for (const op of attempt.ops) mutate(parts, op);
        const target = targetOf(attempt.path, parts);
        fc.pre(target.length < 9000);

        // The request as API Gateway decodes it: the last value of each parameter.
        const effective = new Map<string, string>();
        for (const [k, v] of new URL(target, 'http://local').searchParams) effective.set(k, v);
        const same = (['uid', 'dev', 'ts', 'nonce', 'sig'] as const).every((k) => effective.get(k) === String(signed[k]));
        const pk = effective.get('pk');
        const keyKnown = pk === undefined ? attempt.registered : pk === id.pk;
        const mayConnect =
          same &&
          keyKnown &&
          !attempt.forged &&
          attempt.wrongHost === null &&
          Math.abs(attempt.skewMs) <= Limits.connectSkewMs &&
          // The account key signs for device 1 only: a linked device signs with its own certified key (ARCH §4.6).
          attempt.dev === 1;

        const status = await rawUpgrade(stack.url, target);
        attempts++;
        outcomes[status] = (outcomes[status] ?? 0) + 1;
        const shown = target.length > 300 ? `${target.slice(0, 300)}… (${target.length} chars)` : target;
        if (mayConnect) expect({ target: shown, status }).toEqual({ target: shown, status: 101 });
        else expect({ target: shown, status: [401, 403].includes(status) ? 'refused' : status }).toEqual({ target: shown, status: 'refused' });
        if (status === 101) accepted++;

        if (++inBatch >= BATCH) {
          const after = await counter.counts();
          expect(after).toEqual({ ...before, nonces: before.nonces! + accepted });
          await validConnectStillWorks();
          before = await counter.counts();
          accepted = 0;
          inBatch = 0;
        }
      }),
      { numRuns: UPGRADE_ATTEMPTS, seed: SEED, endOnFailure: true },
    );
    expect(await counter.counts()).toEqual({ ...before, nonces: before.nonces! + accepted });
    await validConnectStillWorks();
    // Hundreds of real upgrades: a guard against a hang, not a speed target (a loaded 2-core machine needs over 30 s).
  }, 120_000);

  // BUG (local/gateway.ts, found by this fuzzer): query parameters named like Object.prototype members reach
  // `(multi[k] ??= []).push(v)` on a plain object, which throws, and the upgrade is answered 500.
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'BUG: an extra query parameter %s is refused or ignored, not a 500',
    async (key) => {
      const good = new URL(connectUrl(stack.url, alice, { withPk: false }));
      expect(await rawUpgrade(stack.url, `/${good.search}&${key}=x`)).toBe(101);
      expect(await rawUpgrade(stack.url, `/?${key}=x`)).toBe(401);
    },
  );

  // BUG (local/gateway.ts, found by this fuzzer): a request target `new URL` cannot parse is answered 500.
  it('BUG: an unparsable request target is answered 400 or 401, not 500', async () => {
    const good = new URL(connectUrl(stack.url, alice, { withPk: false }));
    expect([400, 401]).toContain(await rawUpgrade(stack.url, `//[${good.search}`));
  });
});

function mutate(parts: Part[], op: Op): void {
  const at = (pick: number) => (parts.length === 0 ? undefined : parts[pick % parts.length]);
  switch (op.kind) {
    case 'drop':
      if (parts.length > 0) parts.splice((op as { pick: number }).pick % parts.length, 1);
      return;
    case 'replace': {
      const p = at(op.pick);
      if (p) p.value = op.value;
      return;
    }
    case 'resize': {
      const p = at(op.pick);
      if (p) p.value = op.delta < 0 ? p.value.slice(0, op.delta) : p.value + 'A'.repeat(op.delta);
      return;
    }
    case 'flip': {
      const p = at(op.pick);
      if (!p || p.value.length === 0) return;
      const i = op.at % p.value.length;
      p.value = p.value.slice(0, i) + (p.value[i] === 'A' ? 'B' : 'A') + p.value.slice(i + 1);
      return;
    }
    case 'duplicate': {
      const p = at(op.pick);
      if (!p) return;
      const copy: Part = { key: p.key, value: op.value ?? p.value, encoding: 'form' };
      if (op.front) parts.unshift(copy);
      else parts.push(copy);
      return;
    }
    case 'extra':
      parts.splice(parts.length === 0 ? 0 : op.value.length % (parts.length + 1), 0, { key: op.key, value: op.value, encoding: 'form' });
      return;
    case 'encode': {
      const p = at(op.pick);
      if (p) p.encoding = op.encoding;
      return;
    }
    case 'escape': {
      const p = at(op.pick);
      if (p) p.junk = { at: op.at, text: op.text };
      return;
    }
    case 'huge': {
      const p = at(op.pick);
      if (p) p.value = p.value + 'A'.repeat(op.length);
      return;
    }
    case 'reverse':
      parts.reverse();
      return;
  }
}
