import type { Logger } from '../core/ports';

type Level = 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { info: 0, warn: 1, error: 2, silent: 3 };

/**
 * The only field names a log line may carry: ids, sizes, counts, codes and times. A field outside this list
 * is dropped by name, so a careless `logger.info('x', { body })` cannot write a frame body, a ciphertext,
 * a key or a plaintext to CloudWatch. Adding a field means adding it here, where a reviewer sees it.
 */
export const LOG_FIELDS: ReadonlySet<string> = new Set([
  // where and who
  'action',
  'requestId',
  'connectionId',
  'userId',
  'device',
  'messageId',
  'reportId',
  'from',
  'to',
  'reporter',
  'sender',
  // outcomes
  'code',
  'allow',
  'reason',
  'error',
  'created',
  'rotated',
  'duplicate',
  'released',
  'done',
  'skipped',
  'replaced',
  'removed',
  // a push subscription's kind: web, apns or fcm (never its endpoint or token)
  'kind',
  // sizes and counts
  'bytes',
  'devices',
  'connections',
  'prekeys',
  'queued',
  'usernames',
  'notified',
  'gone',
  'disconnected',
  'purged',
  'deleted',
  'failed',
  'push',
  // an attachment's lifetime class (ARCH §6.12)
  'days',
  // push wake-ups a push service refused for good (core/push-wake.ts)
  'rejected',
  // lifecycle and timing
  'task',
  'phase',
  'store',
  'ms',
]);

/** Longest string value written: ids and codes fit; anything longer is not an id and is cut. */
const MAX_VALUE_CHARS = 96;

function safeValue(value: unknown): unknown {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'string') return value.length <= MAX_VALUE_CHARS ? value : `[${value.length} chars withheld]`;
  return `[${typeof value} withheld]`;
}

function safeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields ?? {})) {
    if (value === undefined || !LOG_FIELDS.has(name)) continue;
    out[name] = safeValue(value);
  }
  return out;
}

export interface LogContext {
  /** `function_name` of the Lambda, or `local` for the local stack. */
  readonly functionName?: string;
  /** X-Ray trace id from `_X_AMZN_TRACE_ID`, when the Lambda runtime sets it. */
  readonly traceId?: () => string | undefined;
}

/**
 * One JSON object per line in the shape AWS Lambda Powertools' logger writes (`level`, `message`,
 * `timestamp`, `service`, `function_name`, `xray_trace_id`), so Logs Insights queries written for Powertools
 * work unchanged — without Powertools in every bundle. Fields pass the allowlist above.
 */
export function jsonLogger(context: LogContext = {}, minLevel: Level | 'silent' = 'info', write = (line: string) => console.log(line)): Logger {
  const log = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const traceId = context.traceId?.();
    write(
      JSON.stringify({
        level: level.toUpperCase(),
        message,
        timestamp: new Date().toISOString(),
        service: 'ebb',
        ...(context.functionName && { function_name: context.functionName }),
        ...(traceId && { xray_trace_id: traceId }),
        ...safeFields(fields),
      }),
    );
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
