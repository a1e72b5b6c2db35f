import { DynamoConnections } from '../../lambdas/adapters/dynamodb';
import { MemoryConnections } from '../../lambdas/adapters/memory';
import type { ConnectionRecord, Connections } from '../../lambdas/core/ports';
import { T0, freshMessageId, freshUserId, useDynalite } from './backends';

/** The Connections contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function connectionsContract(make: () => Promise<Connections>): void {
  let connections: Connections;
  let userId: string;
  beforeEach(async () => {
    connections = await make();
    userId = freshUserId();
  });
  const record = (over: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
    connectionId: freshMessageId(),
    userId,
    device: 1,
    connectedAt: T0,
    expiresAt: T0 / 1000 + 7200,
    ...over,
  });
  const sortedIds = async (user: string, nowMs: number) => (await connections.ofUser(user, nowMs)).map((c) => c.connectionId).sort();

  it("reads a user's live connections with every field, and none for a user without any", async () => {
    const [a, b] = [record(), record({ device: 2, connectedAt: T0 + 5 })];
    await connections.put(a);
    await connections.put(b);
    await connections.put(record({ userId: freshUserId() }));
    const read = await connections.ofUser(userId, T0);
    expect([...read].sort((x, y) => x.device - y.device)).toEqual([a, b]);
    expect(await connections.ofUser(freshUserId(), T0)).toEqual([]);
  });

  it('leaves out a connection from the second it expires', async () => {
    const short = record({ expiresAt: T0 / 1000 + 60 });
    const long = record();
    await connections.put(short);
    await connections.put(long);
    expect(await sortedIds(userId, short.expiresAt * 1000 - 1)).toEqual([short.connectionId, long.connectionId].sort());
    expect(await sortedIds(userId, short.expiresAt * 1000)).toEqual([long.connectionId]);
  });

  it('removes a connection only under its own user, and removing one already gone is no error', async () => {
    const a = record();
    await connections.put(a);
    await connections.remove(freshUserId(), a.connectionId);
    expect(await sortedIds(userId, T0)).toEqual([a.connectionId]);
    await connections.remove(userId, a.connectionId);
    await connections.remove(userId, a.connectionId);
    expect(await connections.ofUser(userId, T0)).toEqual([]);
  });

  it('replaces a record put again under the same connection id', async () => {
    const a = record();
    await connections.put(a);
    await connections.put({ ...a, expiresAt: a.expiresAt + 60 });
    expect(await connections.ofUser(userId, T0)).toEqual([{ ...a, expiresAt: a.expiresAt + 60 }]);
  });
}

describe('MemoryConnections', () => connectionsContract(async () => new MemoryConnections()));

describe('DynamoConnections on dynalite', () => {
  const dynamo = useDynalite();
  connectionsContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoConnections(db, names.connections);
  });
});
