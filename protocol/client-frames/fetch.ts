import * as v from 'valibot';
import { maxChars } from '../chars';
import { Rid } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `fetch`; parsed at the edge by its route. */
export const FetchFrame = v.object({
  action: v.literal('fetch'),
  rid: Rid,
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.maxFetchPage))),
  /** `cursor` of the previous page. */
  after: v.optional(v.pipe(v.string(), maxChars(128))),
});
