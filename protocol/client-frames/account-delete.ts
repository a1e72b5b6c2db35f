import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `account.delete`; parsed at the edge by its route. */
export const AccountDeleteFrame = v.object({ action: v.literal('account.delete'), rid: Rid });
