import * as v from 'valibot';
import { Rid } from '../fields';

/** What a device being linked sends for `link.fetch`, connected under its temporary identity: is its provision there? */
export const LinkFetchFrame = v.object({ action: v.literal('link.fetch'), rid: Rid });
