import type { Logger } from '../core/ports';

type Level = 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { info: 0, warn: 1, error: 2, silent: 3 };

/**
 * One JSON object per line, as CloudWatch Logs Insights reads it. Callers pass ids, sizes and codes only:
 * never frame bodies, ciphertext, keys or plaintext.
 */
export function jsonLogger(base: Record<string, unknown> = {}, minLevel: Level | 'silent' = 'info', write = (line: string) => console.log(line)): Logger {
  const log = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    write(JSON.stringify({ level, message, time: new Date().toISOString(), ...base, ...fields }));
  };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
