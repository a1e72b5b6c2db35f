import * as v from 'valibot';
import { Device, UserId } from '../../protocol/fields';
import type { DeviceAddress } from '../core/ports';

/**
 * The body of a wake-up queue message (ARCH §6.13): `{ "userId", "device" }` and nothing else: no sender, no
 * message id, no count. Written by the routes that queue copies, read by the function that sends the pushes.
 */
export const WakeupMessage = v.strictObject({ userId: UserId, device: Device });
export type WakeupMessage = v.InferOutput<typeof WakeupMessage>;

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
  const parsed = v.safeParse(WakeupMessage, json);
  return parsed.success ? parsed.output : undefined;
}
