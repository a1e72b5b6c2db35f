import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { Limits } from '../../../protocol/limits';
import {
  type AccountRecord,
  type DeviceAddOutcome,
  type Devices,
  FIRST_LINKED_DEVICE,
  type LinkedDevice,
  type LinkRecord,
  type Links,
  type NewLinkedDevice,
} from '../../core/ports';

/**
 * Linked devices on the account item and link items in the queue table (ARCH §4.6, §7). On the account item,
 * `linked` is a map from device number to entry, so that one entry is set or removed by its path; `devices`
 * stays the list every send and bundle reads.
 */

/** Conditional writes lost to a concurrent change are retried from a fresh read this many times. */
const ROUNDS = 8;

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

async function conditionalUpdate(db: DynamoDBDocumentClient, input: UpdateCommandInput): Promise<boolean> {
  try {
    await db.send(new UpdateCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** The device attributes of an account item, for `toAccount`. */
export function linkedDevicesOf(item: Record<string, unknown>): Pick<AccountRecord, 'linked' | 'nextDevice' | 'linkedKeys'> {
  const map = (item.linked ?? {}) as Record<string, Record<string, unknown>>;
  const linked: LinkedDevice[] = Object.values(map)
    .map((e) => ({
      device: Number(e.device),
      signingKey: String(e.signingKey),
      cert: String(e.cert),
      name: typeof e.name === 'string' ? e.name : null,
      linkedAt: Number(e.linkedAt),
      ready: e.ready === true,
    }))
    .sort((a, b) => a.device - b.device);
  const keys = item.linkedKeys as Set<string> | undefined;
  return {
    ...(linked.length > 0 && { linked }),
    ...(item.nextDevice !== undefined && { nextDevice: Number(item.nextDevice) }),
    ...(keys && keys.size > 0 && { linkedKeys: [...keys] }),
  };
}

export class DynamoDevices implements Devices {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * A read, then one update conditioned on `nextDevice` being what was read: every add moves it, so the count
   * and the keys the read saw still hold when the write lands; a lost race reads again.
   */
  async add(userId: string, device: NewLinkedDevice, max: number): Promise<DeviceAddOutcome> {
    for (let round = 0; round < ROUNDS; round++) {
      const item = (await this.db.send(new GetCommand({ TableName: this.table, Key: { uid: userId }, ConsistentRead: true }))).Item;
      if (!item || item.deleting !== undefined) return { outcome: 'missing' };
      const { linked = [], nextDevice, linkedKeys = [] } = linkedDevicesOf(item);
      if (linkedKeys.includes(device.signingKey)) return { outcome: 'duplicate' };
      if (1 + linked.length >= max) return { outcome: 'full' };
      const number = nextDevice ?? FIRST_LINKED_DEVICE;
      if (number > Limits.maxDevice) return { outcome: 'exhausted' };
      const entry = { ...device, device: number, ready: false };
      const hasMap = item.linked !== undefined;
      const made = await conditionalUpdate(this.db, {
        TableName: this.table,
        Key: { uid: userId },
        UpdateExpression: `SET ${hasMap ? 'linked.#n = :entry' : 'linked = :map'}, nextDevice = :next ADD linkedKeys :key`,
        ConditionExpression: `attribute_exists(uid) AND attribute_not_exists(deleting) AND ${
          nextDevice === undefined ? 'attribute_not_exists(nextDevice)' : 'nextDevice = :current'
        } AND ${hasMap ? 'attribute_exists(linked)' : 'attribute_not_exists(linked)'}`,
        ExpressionAttributeNames: hasMap ? { '#n': String(number) } : undefined,
        ExpressionAttributeValues: {
          ...(hasMap ? { ':entry': entry } : { ':map': { [String(number)]: entry } }),
          ':next': number + 1,
          ':key': new Set([device.signingKey]),
          ...(nextDevice !== undefined && { ':current': nextDevice }),
        },
      });
      if (made) return { outcome: 'added', device: number };
    }
    throw new Error('devices: add lost every race');
  }

  async activate(userId: string, device: number): Promise<boolean> {
    return conditionalUpdate(this.db, {
      TableName: this.table,
      Key: { uid: userId },
      UpdateExpression: 'SET devices = list_append(devices, :list), linked.#n.ready = :ready',
      ConditionExpression: 'attribute_exists(linked.#n) AND NOT contains(devices, :device)',
      ExpressionAttributeNames: { '#n': String(device) },
      ExpressionAttributeValues: { ':list': [device], ':ready': true, ':device': device },
    });
  }

  /** A list element is removed by its index: the write is conditioned on the index still holding the device. */
  async remove(userId: string, device: number): Promise<boolean> {
    for (let round = 0; round < ROUNDS; round++) {
      const item = (await this.db.send(new GetCommand({ TableName: this.table, Key: { uid: userId }, ConsistentRead: true }))).Item;
      const map = item?.linked as Record<string, unknown> | undefined;
      if (!item || !map || map[String(device)] === undefined) return false;
      const index = (item.devices as number[]).map(Number).indexOf(device);
      const made = await conditionalUpdate(this.db, {
        TableName: this.table,
        Key: { uid: userId },
        UpdateExpression: index < 0 ? 'REMOVE linked.#n' : `REMOVE linked.#n, devices[${index}]`,
        ConditionExpression:
          index < 0
            ? 'attribute_exists(linked.#n) AND NOT contains(devices, :device)'
            : `attribute_exists(linked.#n) AND devices[${index}] = :device`,
        ExpressionAttributeNames: { '#n': String(device) },
        ExpressionAttributeValues: { ':device': device },
      });
      if (made) return true;
    }
    throw new Error('devices: remove lost every race');
  }
}

/** The partition of a link item in the queue table: queue partitions are `uid#dev`, and no user id starts `link#`. */
const linkPartition = (tmp: string): string => `link#${tmp}`;
const LINK_SORT_KEY = 'link';

export class DynamoLinks implements Links {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(tmp: string, link: LinkRecord, expiresAt: number): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { rcpt: linkPartition(tmp), sk: LINK_SORT_KEY, user: link.user, device: link.device, provision: link.provision, expiresAt },
      }),
    );
  }

  async get(tmp: string, nowMs: number): Promise<LinkRecord | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { rcpt: linkPartition(tmp), sk: LINK_SORT_KEY }, ConsistentRead: true }),
    );
    const item = out.Item;
    // TTL is lazy: an expired item may still be read.
    if (!item || Number(item.expiresAt) <= Math.floor(nowMs / 1000)) return undefined;
    return { user: String(item.user), device: Number(item.device), provision: String(item.provision) };
  }

  async remove(tmp: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { rcpt: linkPartition(tmp), sk: LINK_SORT_KEY } }));
  }
}
