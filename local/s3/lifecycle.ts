import { s3ExpiryAt } from '../../lambdas/core/attachment-expiry';
import type { StoredObject } from './store';

/**
 * The bucket's lifecycle expiration rules, as S3 applies them: a rule matches objects by key prefix and
 * tags (all must hold), and an object it matches expires `expirationDays` after its creation, rounded
 * up to the next midnight UTC. The earliest matching rule wins. Past that instant the object counts as
 * absent to every read and the stack's sweep deletes it, on the stack's clock.
 */

export interface LifecycleRule {
  readonly id: string;
  /** Whole days after creation (S3 takes 1 or more). */
  readonly expirationDays: number;
  /** @default '' (every key) */
  readonly prefix?: string;
  /** Tags the object must carry, each with this value. @default none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** @throws Error naming the rule when its days are not a whole number of at least 1. */
export function checkRules(rules: readonly LifecycleRule[]): void {
  for (const rule of rules) {
    if (!Number.isInteger(rule.expirationDays) || rule.expirationDays < 1) {
      throw new Error(`local s3: lifecycle rule ${rule.id}: expirationDays must be a whole number of at least 1`);
    }
  }
}

/** When `object` expires under `rules` (epoch ms), or undefined if no rule matches it. */
export function expiresAt(object: StoredObject, rules: readonly LifecycleRule[]): number | undefined {
  let earliest: number | undefined;
  for (const rule of rules) {
    if (!object.key.startsWith(rule.prefix ?? '')) continue;
    if (!Object.entries(rule.tags ?? {}).every(([key, value]) => object.tags.get(key) === value)) continue;
    const at = s3ExpiryAt(object.lastModified, rule.expirationDays);
    earliest = earliest === undefined ? at : Math.min(earliest, at);
  }
  return earliest;
}
