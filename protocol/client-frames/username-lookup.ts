import * as v from 'valibot';
import { Rid, Username } from '../fields';

/** What a client sends for `username.lookup`; parsed at the edge by its route. */
export const UsernameLookupFrame = v.object({ action: v.literal('username.lookup'), rid: Rid, username: Username });
