import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `keys.count`; parsed at the edge by its route. */
export const KeysCountFrame = v.object({ action: v.literal('keys.count'), rid: Rid });
