import * as v from 'valibot';
/**
 * Frame generators for the route fuzzer (issue #6 item 2): (a) random text and JSON, (b) mutations of valid
 * frames of every action. Every frame fits one API Gateway frame (32 KB), so the gateway never closes the
 * connection with 1009 and each frame must be answered.
 */
import fc from 'fast-check';
import { Actions, ClientFrames, Limits, isAction, type Action } from '../../protocol';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = readonly (string | number)[];

/** Fresh valid frames of each action, built against the fuzzed stack's real state. */
export type ValidFrames = { readonly [A in Action]: () => Record<string, unknown> };

export interface FuzzFrame {
  readonly text: string;
  /** Sent as a binary WebSocket frame (API Gateway routes those to `$default`, base64-encoded). */
  readonly binary: boolean;
  readonly origin: 'random' | 'mutation';
}

const MAX_BYTES = Limits.maxFrameBytes;
const fits = (text: string) => Buffer.byteLength(text, 'utf8') <= MAX_BYTES;

/** The route API Gateway selects: `action` when it names a route, else `$default`. */
export function routeOf(frame: FuzzFrame): Action | '$default' {
  if (frame.binary) return '$default';
  const action = parsed(frame.text)?.action;
  return isAction(action) ? action : '$default';
}

/**
 * The `rid` the reply must carry: the frame's own when it has a valid one, else null. "1–64 characters"
 * counts code points, as the protocol's length checks do (protocol/chars.ts): 64 emoji (128 UTF-16 units) are a valid rid.
 */
export function expectedRid(frame: FuzzFrame): string | null {
  const rid = parsed(frame.text)?.rid;
  if (typeof rid !== 'string') return null;
  const length = [...rid].length;
  return length >= 1 && length <= 64 ? rid : null;
}

/** Whether the frame passes its route's protocol schema, i.e. reaches the route's core logic. */
export function passesSchema(frame: FuzzFrame): boolean {
  const route = routeOf(frame);
  return route !== '$default' && v.safeParse(ClientFrames[route], JSON.parse(frame.text)).success;
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

// ---- (a) random text and JSON ---------------------------------------------------

const WEIRD_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'action', 'rid', '', ' ', '\u0000', 'é', '💥'];
const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '-0',
  '1e-400',
  '1E+2',
  '9007199254740993',
  '8640000000000001',
  '2147483648',
  '0.1e1',
];
const NON_JSON = [
  '',
  ' ',
  '{',
  '[',
  '"',
  'null',
  'undefined',
  'NaN',
  '{"action":"send"',
  '{action:"status",rid:"x"}',
  "{'action':'status'}",
  '\uFEFF{"action":"status","rid":"bom"}',
  '\u0000',
  '{"action":"status","rid":"x"}garbage',
];

const jsonKey = fc.oneof(fc.constantFrom(...WEIRD_KEYS), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
const scalarText = fc.oneof(
  fc.constantFrom(...HUGE_NUMBERS),
  fc.jsonValue({ maxDepth: 0 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
);
const valueText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: scalarText },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.array(fc.tuple(jsonKey, scalarText), { maxLength: 4 }).map(objectText) },
);
const actionText = fc.oneof(
  fc
    .constantFrom(...Actions, '$connect', '$disconnect', '$default', 'HELLO', 'hello ', 'keys', '__proto__', 'constructor')
    .map((a) => JSON.stringify(a)),
  valueText,
);
const ridText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 64 }).map((s) => JSON.stringify(s)),
  valueText,
);

/** Object text with keys exactly as given: duplicates and `__proto__` survive, as a hostile client would send them. */
function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

const randomObject = fc
  .tuple(fc.option(actionText, { nil: undefined }), fc.array(fc.tuple(jsonKey, valueText), { maxLength: 6 }), fc.option(ridText, { nil: undefined }))
  .map(([action, rest, rid]) =>
    objectText([...(action === undefined ? [] : [['action', action] as const]), ...rest, ...(rid === undefined ? [] : [['rid', rid] as const])]),
  );

const deepNesting = fc.tuple(fc.integer({ min: 1, max: 16_000 }), fc.constantFrom('[]', '{}', 'field')).map(([depth, shape]) => {
  if (shape === '[]') return '['.repeat(depth) + ']'.repeat(depth);
  const levels = Math.min(depth, 5000);
  if (shape === '{}') return '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
  const inner = '['.repeat(depth - 1) + ']'.repeat(depth - 1);
  return `{"action":"send","rid":"deep","messages":[${inner}]}`;
});

/** (a): any text, JSON of any shape, hostile keys, huge numbers, deep nesting; some sent as binary frames. */
export const randomFrame: fc.Arbitrary<FuzzFrame> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: randomObject },
      { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
      { weight: 1, arbitrary: fc.constantFrom(...NON_JSON) },
      { weight: 1, arbitrary: deepNesting },
    ),
    fc.boolean().map((b) => b && Math.random() < 0.2),
  )
  .map(([text, binary]) => ({ text, binary, origin: 'random' as const }))
  .filter((f) => f.text.length > 0 || !f.binary)
  .filter((f) => fits(f.text));

// ---- (b) mutations of valid frames ------------------------------------------------

/** String lengths around every limit of the protocol (rid, ids, keys, signatures, usernames, reason, cursor, ciphertext). */
const LENGTHS = [
  0, 1, 2, 3, 4, 5, 15, 16, 17, 21, 22, 23, 31, 32, 33, 42, 43, 44, 63, 64, 65, 85, 86, 87, 127, 128, 129, 499, 500, 501, 30_037, 30_038, 30_039,
];
/** Numbers around every numeric limit (device, key ids, limits, lifetimes, timestamps) and non-integers. */
const NUMBERS = [
  -1,
  0,
  1,
  2,
  15,
  16,
  17,
  99,
  100,
  101,
  2 ** 31 - 1,
  2 ** 31,
  365 * 86_400,
  365 * 86_400 + 1,
  8.64e15,
  8.64e15 + 1,
  2 ** 53,
  2 ** 53 + 2,
  1.5,
  -0,
  1e21,
  1e308,
  Number.MIN_VALUE,
];
const BAD_CHARS = ['+', '/', '=', ' ', '.', 'é', '\u0000', '💥', '%', '\n', '"', '\\', '\ud800'];
const ODD_VALUES: Json[] = [null, true, false, 0, -1, 1.5, '', 'x', [], {}, 1e308, [null], { action: 'status' }, 'A'.repeat(1000)];
const RIDS: (Json | undefined)[] = [
  undefined,
  '',
  'r',
  'x'.repeat(64),
  'x'.repeat(65),
  '💥'.repeat(64),
  '💥'.repeat(65),
  '\ud800',
  ' ',
  5,
  null,
  [],
  {},
  true,
  ['r'],
];

type Op =
  | { readonly kind: 'drop'; readonly pick: number }
  | { readonly kind: 'retype'; readonly pick: number; readonly value: Json }
  | { readonly kind: 'resize'; readonly pick: number; readonly length: number }
  | { readonly kind: 'number'; readonly pick: number; readonly value: number; readonly relative: boolean }
  | { readonly kind: 'corrupt'; readonly pick: number; readonly char: string; readonly at: number }
  | { readonly kind: 'extra'; readonly pick: number; readonly key: string; readonly value: Json }
  | { readonly kind: 'user'; readonly pick: number; readonly user: number }
  | { readonly kind: 'graft'; readonly pick: number; readonly from: Action; readonly node: number }
  | { readonly kind: 'rid'; readonly value: Json | undefined }
  | { readonly kind: 'action'; readonly value: Action }
  | { readonly kind: 'duplicateKey'; readonly key: string; readonly value: Json }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'pad'; readonly slack: number };

const jsonValue = fc.oneof(fc.constantFrom(...ODD_VALUES), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('retype' as const), pick: fc.nat(), value: jsonValue }),
  fc.record({ kind: fc.constant('resize' as const), pick: fc.nat(), length: fc.constantFrom(...LENGTHS) }),
  fc.record({
    kind: fc.constant('number' as const),
    pick: fc.nat(),
    value: fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(-1000, -1, 1, 1000)),
    relative: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('corrupt' as const), pick: fc.nat(), char: fc.constantFrom(...BAD_CHARS), at: fc.nat() }),
  fc.record({ kind: fc.constant('extra' as const), pick: fc.nat(), key: jsonKey, value: jsonValue }),
  fc.record({ kind: fc.constant('user' as const), pick: fc.nat(), user: fc.nat() }),
  fc.record({ kind: fc.constant('graft' as const), pick: fc.nat(), from: fc.constantFrom(...Actions), node: fc.nat() }),
  fc.record({ kind: fc.constant('rid' as const), value: fc.oneof(fc.constantFrom(...RIDS), fc.string({ unit: 'binary', maxLength: 70 })) }),
  fc.record({ kind: fc.constant('action' as const), value: fc.constantFrom(...Actions) }),
  fc.record({ kind: fc.constant('duplicateKey' as const), key: fc.constantFrom('action', 'rid', 'messages', 'user'), value: jsonValue }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('pad' as const), slack: fc.nat(64) }),
);

/**
 * (b): a valid frame of `action`, then up to three mutations: a field dropped, retyped, resized to a limit
 * ±1, renumbered to a boundary, given a character outside base64url, an extra (hostile) key, another user's
 * id, a subtree of another action's frame, a bad `rid`, another action, a duplicate key, a truncation, or
 * padding up to the 32 KB frame limit. No mutation at all leaves the valid frame, so each route runs its logic.
 */
export function mutatedFrame(action: Action, valid: ValidFrames, userIds: readonly string[]): fc.Arbitrary<FuzzFrame> {
  return fc.array(opArb, { maxLength: 3 }).map((ops) => {
    let tree = valid[action]() as Json;
    const textOps: Op[] = [];
    for (const op of ops) {
      if (op.kind === 'duplicateKey' || op.kind === 'truncate' || op.kind === 'pad') {
        textOps.push(op);
        continue;
      }
      const next = applyTreeOp(clone(tree), op, valid, userIds);
      if (fits(JSON.stringify(next))) tree = next;
    }
    let text = JSON.stringify(tree);
    for (const op of textOps) {
      const next = applyTextOp(text, tree, op);
      if (fits(next)) text = next;
    }
    return { text, binary: false, origin: 'mutation' as const };
  });
}

function applyTreeOp(tree: Json, op: Op, valid: ValidFrames, userIds: readonly string[]): Json {
  const all = pathsOf(tree);
  const choose = (paths: Path[], pick: number) => (paths.length === 0 ? undefined : paths[pick % paths.length]);
  switch (op.kind) {
    case 'drop': {
      const path = choose(all, op.pick);
      return path ? remove(tree, path) : tree;
    }
    case 'retype': {
      const path = choose(all, op.pick);
      return path ? set(tree, path, op.value) : tree;
    }
    case 'resize': {
      const path = choose(
        all.filter((p) => typeof get(tree, p) === 'string'),
        op.pick,
      );
      if (!path) return tree;
      const s = get(tree, path) as string;
      return set(tree, path, s.length >= op.length ? s.slice(0, op.length) : s + 'A'.repeat(op.length - s.length));
    }
    case 'number': {
      const path = choose(
        all.filter((p) => typeof get(tree, p) === 'number'),
        op.pick,
      );
      if (!path) return tree;
      return set(tree, path, op.relative ? (get(tree, path) as number) + op.value : op.value);
    }
    case 'corrupt': {
      const path = choose(
        all.filter((p) => typeof get(tree, p) === 'string'),
        op.pick,
      );
      if (!path) return tree;
      const s = get(tree, path) as string;
      const at = op.at % (s.length + 1);
      return set(tree, path, s.slice(0, at) + op.char + s.slice(at + 1));
    }
    case 'extra': {
      const objects: Path[] = [[], ...all.filter((p) => isObject(get(tree, p)))];
      const path = choose(objects, op.pick)!;
      const target = get(tree, path) as Record<string, Json>;
      // defineProperty, so that `__proto__` becomes an own key that JSON.stringify writes out.
      Object.defineProperty(target, op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
      return tree;
    }
    case 'user': {
      const path = choose(
        all.filter((p) => typeof get(tree, p) === 'string'),
        op.pick,
      );
      return path ? set(tree, path, userIds[op.user % userIds.length]!) : tree;
    }
    case 'graft': {
      const donor = valid[op.from]() as Json;
      const donorPaths = pathsOf(donor);
      const path = choose(all, op.pick);
      const from = choose(donorPaths, op.node);
      return path && from ? set(tree, path, get(donor, from)) : tree;
    }
    case 'rid':
      return op.value === undefined ? remove(tree, ['rid']) : set(tree, ['rid'], op.value);
    case 'action':
      return set(tree, ['action'], op.value);
    case 'duplicateKey':
    case 'truncate':
    case 'pad':
      return tree;
  }
}

function applyTextOp(text: string, tree: Json, op: Op): string {
  if (!isObject(tree) || !text.endsWith('}')) return text;
  switch (op.kind) {
    case 'duplicateKey':
      // A later duplicate wins in JSON.parse, so the gateway and the handler both see this value.
      return `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${JSON.stringify(op.key)}:${JSON.stringify(op.value)}}`;
    case 'truncate':
      return text.slice(0, op.at % text.length);
    case 'pad': {
      const base = `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"pad":"`;
      const need = MAX_BYTES - op.slack - Buffer.byteLength(base, 'utf8') - 2;
      return need >= 0 ? `${base}${'x'.repeat(need)}"}` : text;
    }
    case 'drop':
    case 'retype':
    case 'resize':
    case 'number':
    case 'corrupt':
    case 'extra':
    case 'user':
    case 'graft':
    case 'rid':
    case 'action':
      return text;
  }
}

// ---- JSON tree helpers ------------------------------------------------------------

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [];
  const children: [string | number, Json][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : isObject(value) ? Object.entries(value) : [];
  for (const [key, child] of children) {
    const path = [...prefix, key];
    out.push(path, ...pathsOf(child, path));
  }
  return out;
}

function get(value: Json, path: Path): Json {
  let node: Json = value;
  for (const key of path) node = (node as Record<string | number, Json>)[key]!;
  return node;
}

function set(root: Json, path: Path, replacement: Json): Json {
  if (path.length === 0) return replacement;
  const parent = get(root, path.slice(0, -1)) as Record<string | number, Json>;
  Object.defineProperty(parent, path[path.length - 1]!, { value: replacement, enumerable: true, writable: true, configurable: true });
  return root;
}

function remove(root: Json, path: Path): Json {
  if (path.length === 0) return root;
  const parent = get(root, path.slice(0, -1));
  const key = path[path.length - 1]!;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else if (isObject(parent)) delete parent[key as string];
  return root;
}
