import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `hello`; parsed at the edge by its route. */
export const HelloFrame = z.object({ action: z.literal('hello'), rid: Rid });
