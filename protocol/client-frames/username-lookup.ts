import * as z from 'zod/mini';
import { Rid, Username } from '../fields';

/** What a client sends for `username.lookup`; parsed at the edge by its route. */
export const UsernameLookupFrame = z.object({ action: z.literal('username.lookup'), rid: Rid, username: Username });
