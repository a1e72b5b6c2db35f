import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, resolveConfig, type EbbConfig } from '../protocol/config';
import { AdminError } from './errors';

/** Where the config came from, for the operator to see. */
export interface LoadedConfig {
  readonly config: EbbConfig;
  readonly file: string;
}

/**
 * Reads `context.ebb` from a cdk.json (any JSON with a `context` object), or a JSON file holding the `ebb`
 * object itself, and resolves it exactly as `cdk synth` and the local stack do.
 * @throws AdminError when the file cannot be read or parsed, naming the file; and for an invalid config,
 * the resolver's message naming the key (`ebb.sunset.readOnlyAt: must not be before signupsCloseAt`).
 */
export function loadConfig(file: string): LoadedConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AdminError(`cannot read config ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'read failed')}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AdminError(`config ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const context = isObject(json) && isObject(json.context) ? json.context : undefined;
  try {
    return { config: resolveConfig(context ? context.ebb : json), file: absolute };
  } catch (error) {
    if (error instanceof ConfigError) throw new AdminError(`invalid config in ${file}: ${error.message}`);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
