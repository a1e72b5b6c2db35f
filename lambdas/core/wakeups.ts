import { forEachBounded } from './bounded';
import type { DeviceAddress, Ports } from './ports';

/**
 * Wake-ups for devices that were sent a copy while offline (ARCH §6.13): at most one a minute per device, and only
 * for a device with a push subscription, decided by one conditional write each; then one queue message naming the
 * device. The send's answer never waits for them and a failure never fails it: the message is durable already,
 * and the device fetches it when it next connects, woken or not.
 */

/** At most one wake-up per device in this window, however many messages reach it while it is offline. */
export const WAKEUP_EVERY_MS = 60_000;
/** Wake-up claims in flight at once: a fan-out may reach hundreds of offline devices. */
const WAKEUP_CONCURRENCY = 32;

/** Hands the wake-ups of `devices` to the work that runs after the answer (`ports.afterAnswer`). */
export function wakeLater(ports: Ports, devices: readonly DeviceAddress[]): void {
  if (devices.length > 0) ports.afterAnswer.add(wakeDevices(ports, devices));
}

/** Claims and queues the wake-ups of `devices` that are due; never rejects. Logs counts, never a device. */
export async function wakeDevices(
  ports: Pick<Ports, 'wakeupClaims' | 'wakeups' | 'clock' | 'logger'>,
  devices: readonly DeviceAddress[],
): Promise<void> {
  const now = ports.clock.now();
  let queued = 0;
  let failed = 0;
  await forEachBounded(devices, WAKEUP_CONCURRENCY, async (device) => {
    try {
      if (!(await ports.wakeupClaims.claimWakeup(device, now, WAKEUP_EVERY_MS))) return;
      // A claim whose message is then lost costs this device one window: the next message after it wakes it.
      await ports.wakeups.enqueue(device);
      queued++;
    } catch {
      failed++;
    }
  });
  // Counts only: the devices woken belong to the recipients of the sender's request (ARCH §12).
  if (queued > 0) ports.logger.info('wake-ups queued', { queued });
  if (failed > 0) ports.logger.warn('wake-ups failed', { failed });
}
