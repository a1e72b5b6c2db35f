import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `status`; parsed at the edge by its route. */
export const StatusFrame = v.object({ action: v.literal('status'), rid: Rid });
