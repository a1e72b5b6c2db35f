import * as z from 'zod/mini';
import type { Action } from '../../../protocol/frames';
import { ResultSchemas } from '../../../protocol/server-frames';

/**
 * How the SDK reads results: protocol/server-frames.ts's schemas, except that a fetch page's envelopes
 * are checked one by one (inbox), so one bad envelope cannot hide the rest of a page.
 */
export const AnswerSchemas = {
  ...ResultSchemas,
  fetch: z.extend(ResultSchemas.fetch, { messages: z.array(z.unknown()) }),
} as const satisfies Record<Action, z.ZodMiniType>;

/** What a request for `A` resolves with. */
export type Answer<A extends Action> = z.output<(typeof AnswerSchemas)[A]>;
