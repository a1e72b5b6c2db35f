import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `account.delete`; parsed at the edge by its route. */
export const AccountDeleteFrame = z.object({ action: z.literal('account.delete'), rid: Rid });
