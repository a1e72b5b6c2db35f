import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `status`; parsed at the edge by its route. */
export const StatusFrame = z.object({ action: z.literal('status'), rid: Rid });
