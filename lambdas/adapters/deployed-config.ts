import type { EbbConfig } from '../../protocol/config';
import { DEFAULT_CONFIG, isPlainObject, withDefaults } from '../../protocol/config-defaults';
import { LambdaEnv } from '../lambda-env';

/**
 * `EBB_CONFIG` as infra wrote it: `context.ebb` already resolved and validated with EbbConfigSchema at synth
 * (infra/ebb-stack.ts), so the Lambda does not bundle that schema again. It lays the value over the defaults,
 * as resolveConfig does, and checks its shape: the keys of DEFAULT_CONFIG and no others, whole numbers
 * where the default is a number, a string or null where it is null, a list of strings where it is a list.
 * @throws Error naming the first offending key.
 */
export function parseDeployedConfig(json: string): EbbConfig {
  const config = withDefaults(JSON.parse(json));
  const offending = offendingKey(config, DEFAULT_CONFIG as unknown as Record<string, unknown>, LambdaEnv.config);
  if (offending) throw new Error(`invalid Lambda environment: ${offending}`);
  return config as unknown as EbbConfig;
}

/** Keys whose default is null and whose value, when set, is an object infra validated at synth (the push platforms). */
const NULLABLE_OBJECTS: ReadonlySet<string> = new Set([`${LambdaEnv.config}.push.apns`, `${LambdaEnv.config}.push.fcm`]);

function offendingKey(value: Record<string, unknown>, shape: Record<string, unknown>, path: string): string | undefined {
  for (const key of Object.keys(value)) if (!(key in shape)) return `${path}.${key}`;
  for (const [key, expected] of Object.entries(shape)) {
    const given = value[key];
    const at = `${path}.${key}`;
    if (NULLABLE_OBJECTS.has(at)) {
      if (given !== null && !isPlainObject(given)) return at;
    } else if (isPlainObject(expected)) {
      if (!isPlainObject(given)) return at;
      const inner = offendingKey(given, expected, at);
      if (inner) return inner;
    } else if (Array.isArray(expected)) {
      // The one list in the config, `webOrigins`, holds strings.
      if (!Array.isArray(given) || given.some((item) => typeof item !== 'string')) return at;
    } else if (expected === null ? given !== null && typeof given !== 'string' : typeof given !== typeof expected) {
      return at;
    } else if (typeof expected === 'number' && !Number.isInteger(given)) {
      return at;
    }
  }
  return undefined;
}
