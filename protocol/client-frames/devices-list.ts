import * as v from 'valibot';
import { Rid } from '../fields';

/** What a client sends for `devices.list`: its account's devices, linked or still waiting for their first prekey. */
export const DevicesListFrame = v.object({ action: v.literal('devices.list'), rid: Rid });
