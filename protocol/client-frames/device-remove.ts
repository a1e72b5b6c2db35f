import * as z from 'zod/mini';
import { Device, Rid } from '../fields';

/** What a client sends for `device.remove`: device 1 removes any other device; any device removes itself. */
export const DeviceRemoveFrame = z.object({ action: z.literal('device.remove'), rid: Rid, device: Device });
