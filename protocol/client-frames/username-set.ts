import * as z from 'zod/mini';
import { Rid, Username } from '../fields';

/** What a client sends for `username.set`; parsed at the edge by its route. */
export const UsernameSetFrame = z.object({ action: z.literal('username.set'), rid: Rid, username: Username });
