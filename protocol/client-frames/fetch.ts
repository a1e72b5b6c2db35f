import * as z from 'zod/mini';
import { Rid } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `fetch`; parsed at the edge by its route. */
export const FetchFrame = z.object({
  action: z.literal('fetch'),
  rid: Rid,
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(Limits.maxFetchPage))),
  /** `cursor` of the previous page. */
  after: z.optional(z.string().check(z.maxLength(128))),
});
