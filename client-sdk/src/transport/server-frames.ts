import * as v from 'valibot';
import type { Action } from '../../../protocol/frames';
import { ResultSchemas } from '../../../protocol/server-frames';

/**
 * How the SDK reads results: protocol/server-frames.ts's schemas, except that a fetch page's envelopes
 * are checked one by one (inbox), so one bad envelope cannot hide the rest of a page.
 */
export const AnswerSchemas = {
  ...ResultSchemas,
  fetch: v.object({ ...ResultSchemas.fetch.entries, messages: v.array(v.unknown()) }),
} as const satisfies Record<Action, v.GenericSchema>;

/** What a request for `A` resolves with. */
export type Answer<A extends Action> = v.InferOutput<(typeof AnswerSchemas)[A]>;
