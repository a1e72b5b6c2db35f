import * as z from 'zod/mini';
import { Device, UserId } from '../../protocol/fields';
import type { DeviceAddress } from '../core/ports';

/**
 * The body of a wake-up queue message (ARCH §6.13): `{ "userId", "device" }` and nothing else: no sender, no
 * message id, no count. Written by the routes that queue copies, read by the function that sends the pushes.
 */
export const WakeupMessage = z.strictObject({ userId: UserId, device: Device });
export type WakeupMessage = z.infer<typeof WakeupMessage>;

export function encodeWakeup(device: DeviceAddress): string {
  const message: WakeupMessage = { userId: device.userId, device: device.device };
  return JSON.stringify(message);
}

/** The device a queue message names, or undefined for a body that is not exactly a wake-up message. */
export function parseWakeup(body: string): WakeupMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = WakeupMessage.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
