import * as v from 'valibot';
import { Rid, Username } from '../fields';

/** What a client sends for `username.set`; parsed at the edge by its route. */
export const UsernameSetFrame = v.object({ action: v.literal('username.set'), rid: Rid, username: Username });
