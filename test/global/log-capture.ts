import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_FIELDS } from '../../lambdas/adapters/logger';

/**
 * Every local stack a test starts without its own logger writes its handler logs to a file (EBB_LOG_FILE,
 * one per worker, see test/setup-env.ts); after the whole run, `checkRunLogs` reads every line. The
 * handlers log ids, sizes and codes only, so the run's logs must hold no plaintext, key or ciphertext.
 */

/** Marks plaintexts in tests (test/support/canary.ts): none may ever reach a log line. */
export const CANARY_MARKER = 'ebb-canary';

const ENVELOPE_FIELDS = new Set(['level', 'message', 'timestamp', 'service', 'function_name', 'xray_trace_id']);
/** A 32-byte key, commitment or tag in base64url (43 chars), or anything longer: signatures, ciphertext. */
const KEY_SHAPED = /^[A-Za-z0-9_-]{43}$|[A-Za-z0-9_-]{86,}/;

export function startRunLogs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-run-logs-'));
  process.env.EBB_LOG_DIR = dir;
  return dir;
}

export interface RunLogReport {
  readonly files: number;
  readonly lines: number;
  readonly problems: string[];
}

export function checkRunLogs(dir: string): RunLogReport {
  const problems: string[] = [];
  let lines = 0;
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  for (const file of files) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      lines++;
      problems.push(...lineProblems(line).map((p) => `${file}:${lines}: ${p}`));
    }
  }
  return { files: files.length, lines, problems };
}

export function lineProblems(line: string): string[] {
  if (line.includes(CANARY_MARKER)) return ['contains a test plaintext'];
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return ['is not JSON'];
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return ['is not a JSON object'];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (!ENVELOPE_FIELDS.has(name) && !LOG_FIELDS.has(name)) problems.push(`field ${name} is not an allowed log field`);
    if (typeof value === 'string' && KEY_SHAPED.test(value)) problems.push(`field ${name} holds a key-shaped value`);
    if (typeof value === 'object' && value !== null) problems.push(`field ${name} is structured`);
  }
  return problems;
}

export function removeRunLogs(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
