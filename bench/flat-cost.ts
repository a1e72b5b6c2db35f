import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EbbClient, MemoryStore } from '../client-sdk/src';
import { LOCAL_AWS } from '../local/dynamo';
import { DynamoMeter } from './dynamo-meter';
import { closeAll, openIdleSockets } from './idle';
import { sleep } from './measure';
import { startMeteredStack, type MeteredStack } from './stack';
import { openWindow, subtractCounted, type Counted } from './window';

/** Counted per delivered message. */
export interface PerMessage {
  readonly dynamoRequests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly apiGatewayUnits: number;
  readonly apiGatewayMessages: number;
  /** Frames from clients and frames to them (results and pushes). */
  readonly inboundFrames: number;
  readonly outboundFrames: number;
  readonly lambdaInvocations: number;
}

export interface FlatCostResult {
  /** ebb: one user sends to another while `idle` other users are connected. */
  readonly ebb: { readonly idle: number; readonly perMessage: PerMessage }[];
  /** The scan-per-message broadcast of the AWS sample chat app, at the same connection counts. */
  readonly scanBroadcast: { readonly idle: number; readonly connections: number; readonly perMessage: PerMessage }[];
  /** The windows the cost model prices: online delivery, offline delivery (queued, fetched, acked). */
  readonly online: Counted & { readonly messages: number };
  readonly offline: Counted & { readonly messages: number };
}

/**
 * Flat cost as users grow: with 10, 100, 1 000 idle connected users, what one delivered message costs in
 * DynamoDB requests and capacity, API Gateway messages and Lambda invocations — beside a scan-per-message
 * broadcast baseline (written here, inside bench/ only) whose cost is O(connections).
 */
export async function measureFlatCost(options: { idleLevels: readonly number[]; messages: number; broadcasts: number }): Promise<FlatCostResult> {
  const m = await startMeteredStack();
  const sockets: Awaited<ReturnType<typeof openIdleSockets>> = [];
  const bobStore = new MemoryStore();
  const alice = await EbbClient.create({ url: m.stack.url });
  let bob = await EbbClient.create({ url: m.stack.url, store: bobStore });
  try {
    await alice.connect();
    await bob.connect();
    const inbox = new Inbox();
    bob.on('message', (msg) => inbox.add(msg.text ?? ''));
    await alice.send(bob.userId, 'warm-up');
    await inbox.waitFor(1);
    await sleep(250); // the warm-up's ack

    const ebb: FlatCostResult['ebb'] = [];
    const scanBroadcast: FlatCostResult['scanBroadcast'] = [];
    let online: FlatCostResult['online'] | undefined;
    for (const idle of options.idleLevels) {
      sockets.push(...(await openIdleSockets(m.stack.url, idle - sockets.length)));
      const close = openWindow(m);
      await sendAndReceive(alice, bob.userId, inbox, options.messages);
      const counted = close();
      online ??= { ...counted, messages: options.messages };
      ebb.push({ idle, perMessage: perMessage(counted, options.messages) });
      scanBroadcast.push({ idle, connections: m.stack.gateway.connectionCount, perMessage: await broadcastCost(m, options.broadcasts) });
    }

    // Offline: bob goes away, alice sends, bob comes back, drains and acks. A reconnect with an empty
    // queue is measured first and subtracted, so only what the messages cost remains.
    await bob.close();
    const reconnect = async () => {
      bob = await EbbClient.create({ url: m.stack.url, store: bobStore });
      bob.on('message', (msg) => inbox.add(msg.text ?? ''));
      await bob.connect();
    };
    const control = openWindow(m);
    await reconnect();
    await sleep(250);
    await bob.close();
    const empty = control();
    const closeOffline = openWindow(m);
    const before = inbox.count;
    for (let i = 0; i < options.messages; i++) await alice.send(bob.userId, `offline ${i} ${'x'.repeat(1000)}`);
    await reconnect();
    await inbox.waitFor(before + options.messages);
    await sleep(400); // acks are batched after a short delay
    await bob.close();
    const offline = { ...subtractCounted(closeOffline(), empty), messages: options.messages };
    return { ebb, scanBroadcast, online: online!, offline };
  } finally {
    await closeAll(sockets);
    await alice.close().catch(() => undefined);
    await bob.close().catch(() => undefined);
    await m.stack.stop();
  }
}

class Inbox {
  count = 0;
  add(_text: string): void {
    this.count++;
  }
  async waitFor(n: number, timeoutMs = 20_000): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.count < n) {
      if (performance.now() > until) throw new Error(`bench: ${n - this.count} messages not delivered`);
      await sleep(2);
    }
  }
}

async function sendAndReceive(alice: EbbClient, to: string, inbox: Inbox, messages: number): Promise<void> {
  for (let i = 0; i < messages; i++) {
    const target = inbox.count + 1;
    await alice.send(to, `online ${i} ${'x'.repeat(1000)}`);
    await inbox.waitFor(target);
  }
  await sleep(400); // acks are batched after a short delay
}

/** What a window counted, per message. */
export function perMessage(c: Counted, messages: number): PerMessage {
  const invocations = [...c.invocations.values()].reduce((a, b) => a + b, 0);
  return {
    dynamoRequests: c.dynamo.requests / messages,
    readUnits: c.dynamo.readUnits / messages,
    writeUnits: c.dynamo.writeUnits / messages,
    apiGatewayUnits: c.gateway.billedUnits / messages,
    apiGatewayMessages: (c.gateway.inbound + c.gateway.outbound) / messages,
    inboundFrames: c.gateway.inbound / messages,
    outboundFrames: c.gateway.outbound / messages,
    lambdaInvocations: invocations / messages,
  };
}

/**
 * The canonical AWS serverless chat sample's `sendmessage`: on each message, Scan the connections table
 * (projecting only connectionId) and post the message to every connection. Its inbound frame and its
 * one Lambda invocation are counted as ebb's are; the posts go through the local gateway's management API.
 */
async function broadcastCost(m: MeteredStack, broadcasts: number): Promise<PerMessage> {
  const meter = new DynamoMeter();
  const db = new DynamoDBClient({ endpoint: m.stack.dynamodbEndpoint, ...LOCAL_AWS });
  meter.instrument(db);
  const management = new ApiGatewayManagementApiClient({ endpoint: m.stack.callbackUrl, ...LOCAL_AWS, maxAttempts: 1 });
  const gateway = m.stack.gateway.meter;
  const units = gateway.billedUnits;
  const messages = gateway.inboundMessages + gateway.outboundMessages;
  // Idle SDK-less sockets and the two SDK clients all receive it; the SDK ignores frames it does not know.
  const payload = JSON.stringify({ type: 'bench-broadcast', data: 'x'.repeat(1024) });
  try {
    for (let i = 0; i < broadcasts; i++) {
      let start: Record<string, AttributeValue> | undefined;
      const ids: string[] = [];
      do {
        const page = await db.send(
          new ScanCommand({ TableName: m.stack.tables.connections, ProjectionExpression: 'connectionId', ExclusiveStartKey: start }),
        );
        for (const item of page.Items ?? []) ids.push(item.connectionId!.S!);
        start = page.LastEvaluatedKey;
      } while (start);
      for (let j = 0; j < ids.length; j += 50) {
        await Promise.all(
          ids.slice(j, j + 50).map((id) => management.send(new PostToConnectionCommand({ ConnectionId: id, Data: payload })).catch(() => undefined)),
        );
      }
    }
  } finally {
    db.destroy();
    management.destroy();
  }
  const inbound = 1; // the sender's frame, not sent here
  return {
    dynamoRequests: meter.total.requests / broadcasts,
    readUnits: meter.total.readUnits / broadcasts,
    writeUnits: meter.total.writeUnits / broadcasts,
    apiGatewayUnits: (gateway.billedUnits - units) / broadcasts + inbound,
    apiGatewayMessages: (gateway.inboundMessages + gateway.outboundMessages - messages) / broadcasts + inbound,
    inboundFrames: inbound,
    outboundFrames: (gateway.inboundMessages + gateway.outboundMessages - messages) / broadcasts,
    lambdaInvocations: 1,
  };
}
