import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `hello`; parsed at the edge by its route. */
export const HelloFrame = v.object({ action: v.literal('hello'), rid: Rid });
