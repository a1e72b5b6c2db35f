import * as v from 'valibot';
import { Device } from '../../../protocol/frames';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Answer } from '../transport/server-frames';
import type { DeviceInfo } from '../types';
import { openDeviceName } from './device-names';

const Devices = v.array(Device);

/**
 * This account's devices as the service last listed them (ARCH §8.6): where sent copies and read state go.
 * Only a hint: the outbox encrypts to a device only once its bundle shows a key the account certified.
 * Listed on every connect, and changed by this device's own approvals and removals.
 */
export class OwnDevices {
  constructor(
    private readonly store: KeyStore,
    private readonly identity: Identity,
  ) {}

  /** Every device of the account the service listed, this one included, and ones linked but not yet connected. */
  async list(): Promise<readonly number[]> {
    const saved = await this.store.get(StoreKeys.ownDevices);
    if (saved === undefined) return [];
    try {
      const parsed = v.safeParse(Devices, JSON.parse(saved));
      return parsed.success ? parsed.output : [];
    } catch {
      return [];
    }
  }

  /** Keeps the service's list and returns it as the app sees it, names opened. */
  async learn(answer: Answer<'devices.list'>): Promise<DeviceInfo[]> {
    // Pending devices too: one listed before it first connects still gets this device's copies once its keys
    // are there (the outbox encrypts only to devices whose bundle shows a certified key).
    await this.save(answer.devices.map((d) => d.device));
    return answer.devices
      .map((d) => ({
        device: d.device,
        name: d.name === null ? null : openDeviceName(d.name, this.identity.identitySecretKey),
        linkedAt: new Date(d.linkedAt),
        current: d.device === this.identity.device,
        ready: d.ready,
      }))
      .sort((a, b) => a.device - b.device);
  }

  async add(device: number): Promise<void> {
    const devices = await this.list();
    if (!devices.includes(device)) await this.save([...devices, device]);
  }

  async remove(device: number): Promise<void> {
    await this.save((await this.list()).filter((d) => d !== device));
  }

  private async save(devices: readonly number[]): Promise<void> {
    await this.store.set(StoreKeys.ownDevices, JSON.stringify([...new Set(devices)].sort((a, b) => a - b)));
  }
}
