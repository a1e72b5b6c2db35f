import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a device being linked sends for `link.fetch`, connected under its temporary identity: is its provision there? */
export const LinkFetchFrame = z.object({ action: z.literal('link.fetch'), rid: Rid });
