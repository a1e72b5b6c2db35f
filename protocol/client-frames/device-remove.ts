import * as v from 'valibot';
import { Device, Rid } from '../fields';

/** What a client sends for `device.remove`: device 1 removes any other device; any device removes itself. */
export const DeviceRemoveFrame = v.object({ action: v.literal('device.remove'), rid: Rid, device: Device });
