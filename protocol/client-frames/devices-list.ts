import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `devices.list`: its account's devices, linked or still waiting for their first prekey. */
export const DevicesListFrame = z.object({ action: z.literal('devices.list'), rid: Rid });
