import nacl from 'tweetnacl';
import { type EbbClient, MemoryStore, type Phase, type Receipt } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { ChatController, type ChatView, type ConnectionStatus } from '../../web/controller';
import type { Conversation } from '../../web/history';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';

/** Groups in the web chat (ARCH §8.9) without a browser: create, talk with names, changes as lines, refusals. */
jest.setTimeout(60_000);

class QuietView implements ChatView {
  account(): void {}
  connection(_status: ConnectionStatus): void {}
  sunset(_phase: Phase): void {}
  conversations(): void {}
  chat(): void {}
}

interface Person {
  readonly chat: ChatController;
  readonly name: string;
  readonly userId: string;
}

const opened: ChatController[] = [];
let stack: LocalStack;
let count = 0;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED, maxGroupSize: 3 } });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((chat) => chat.close()));
});
afterAll(() => stack?.stop());

async function person(prefix: string): Promise<Person> {
  const chat = await ChatController.start({ url: stack.url, store: new MemoryStore(), historyStore: new MemoryStore(), view: new QuietView() });
  opened.push(chat);
  const name = await chat.setUsername(`${prefix}_${process.pid % 10_000}_${++count}`);
  return { chat, name, userId: chat.userId! };
}

function groupConversation(chat: ChatController): Conversation | undefined {
  return chat.conversations.find((conversation) => conversation.group);
}

const texts = (conversation: Conversation | undefined, direction: 'in' | 'out' | 'event') =>
  (conversation?.messages ?? []).filter((m) => m.direction === direction).map((m) => m.text);

it('creates a group by usernames; every member talks in it, each message with its sender, every change as a line', async () => {
  const [alice, bob, carol] = [await person('alice'), await person('bob'), await person('carol')];
  const ops = await alice.chat.createGroup(' ops ', `@${bob.name}, ${carol.userId}`);
  expect(ops).toMatchObject({ label: 'ops', group: true });
  expect(alice.chat.current).toBe(ops);
  expect(alice.chat.groupOf(ops)).toMatchObject({ name: 'ops', members: [alice.userId, bob.userId, carol.userId], admins: [alice.userId] });
  expect(alice.chat.isGroupAdmin(ops)).toBe(true);
  expect(alice.chat.nameOf(bob.userId)).toBe(bob.name);
  expect(alice.chat.nameOf(carol.userId)).toBe(carol.userId.slice(0, 8) + '…');
  expect(texts(ops, 'event')).toEqual([`You created the group “ops” with ${bob.name} and ${carol.userId.slice(0, 8)}….`]);

  await until(() => groupConversation(bob.chat) !== undefined && groupConversation(carol.chat) !== undefined, 'the group at bob and carol');
  const atBob = groupConversation(bob.chat)!;
  expect(atBob.label).toBe('ops');
  expect(bob.chat.isGroupAdmin(atBob)).toBe(false);
  expect(texts(atBob, 'event')).toEqual([`${alice.userId.slice(0, 8)}… created the group “ops” with you and ${carol.userId.slice(0, 8)}….`]);

  const reads: Receipt[] = [];
  (alice.chat as unknown as { client: EbbClient }).client.on('receipt', (r) => r.kind === 'read' && reads.push(r));
  alice.chat.send('hello all');
  await until(() => texts(groupConversation(bob.chat), 'in').length === 1 && texts(groupConversation(carol.chat), 'in').length === 1, 'hello');
  expect(atBob.messages.find((m) => m.direction === 'in')).toMatchObject({ text: 'hello all', from: alice.userId });

  bob.chat.select(atBob);
  bob.chat.send('hi from bob');
  await until(() => texts(ops, 'in').includes('hi from bob'), 'bob at alice');
  expect(ops.messages.find((m) => m.text === 'hi from bob')).toMatchObject({ from: bob.userId });
  expect(alice.chat.nameOf(bob.userId)).toBe(bob.name);
  await until(() => atBob.messages.some((m) => m.text === 'hi from bob' && m.delivery === 'sent'), 'bob sent');
  // Bob and Carol read Alice's message (their conversations are open): a group message gets no tick, and the
  // members' receipts are not kept waiting for a send they could match.
  carol.chat.select(groupConversation(carol.chat)!);
  const helloId = ops.messages.find((m) => m.text === 'hello all')!.messageId!;
  await until(() => reads.filter((r) => r.messageId === helloId).length >= 2, 'read receipts from bob and carol');
  expect(ops.messages.find((m) => m.text === 'hello all')!.receipt).toBeUndefined();
  expect((alice.chat as unknown as { earlyReceipts: Map<string, unknown> }).earlyReceipts.size).toBe(0);

  // A non-admin's change is refused in a sentence, and changes nothing.
  await expect(bob.chat.removeGroupMember(carol.userId)).rejects.toThrow('Only the admins of this group can do that.');
  await expect(bob.chat.renameGroup('mine')).rejects.toThrow('Only the admins of this group can do that.');

  await alice.chat.renameGroup('ops two');
  await until(() => atBob.label === 'ops two', 'the rename at bob');
  expect(texts(atBob, 'event').at(-1)).toBe(`${alice.userId.slice(0, 8)}… renamed the group from “ops” to “ops two”.`);

  // Over the limit (3 on this stack), a non-member, a name nobody has.
  const dave = await person('dave');
  await expect(alice.chat.addGroupMembers(dave.name)).rejects.toThrow('The group would have more members than this service allows.');
  await expect(alice.chat.removeGroupMember(dave.userId)).rejects.toThrow('They are not in this group.');
  await expect(alice.chat.addGroupMembers('nobody_at_all_here')).rejects.toThrow('Nobody is called nobody_at_all_here.');
  await expect(alice.chat.createGroup('', bob.name)).rejects.toThrow('A group name is 1 to 100 characters.');

  await bob.chat.leaveGroup();
  expect(atBob.left).toBe(true);
  expect(bob.chat.groupOf(atBob)).toBeUndefined();
  await until(() => texts(ops, 'event').includes(`${bob.name} left.`), 'bob left at alice');
  expect(alice.chat.groupOf(ops)!.members).toEqual([alice.userId, carol.userId]);
  await expect(bob.chat.leaveGroup()).rejects.toThrow('You are not in this group any more.');
});

it('sends a file to a group: uploaded once, it reaches every member with its sender, and each downloads it', async () => {
  const [alice, bob, carol] = [await person('alice'), await person('bob'), await person('carol')];
  const ops = await alice.chat.createGroup('ops', `${bob.name} ${carol.name}`);
  await until(() => groupConversation(bob.chat) !== undefined && groupConversation(carol.chat) !== undefined, 'the group');
  const bytes = nacl.randomBytes(100_000);
  const objects = stack.s3.objects(stack.s3Bucket).length;

  const sent = alice.chat.send('the minutes', {}, [new File([bytes as BlobPart], 'minutes.pdf', { type: 'application/pdf' })])!;
  expect(alice.chat.current).toBe(ops);
  await until(() => sent.delivery !== 'sending', 'the file to be sent', 20_000);
  expect(sent).toMatchObject({ delivery: 'sent', attachments: [{ name: 'minutes.pdf', type: 'application/pdf', size: 100_000 }] });
  expect(stack.s3.objects(stack.s3Bucket)).toHaveLength(objects + 1);

  for (const member of [bob, carol]) {
    const received = () => groupConversation(member.chat)?.messages.find((m) => m.direction === 'in' && m.text === 'the minutes');
    await until(() => received() !== undefined, 'the file at a member', 20_000);
    expect(received()).toMatchObject({ from: alice.userId, attachments: [{ name: 'minutes.pdf', type: 'application/pdf', size: 100_000 }] });
    const blob = await member.chat.download(received()!.attachments![0]!);
    expect(blob.type).toBe('application/pdf');
    expect(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  }
});

it('a removed member is told, its conversation stays to read, and it gets nothing sent afterwards', async () => {
  const [alice, bob, carol] = [await person('alice'), await person('bob'), await person('carol')];
  const ops = await alice.chat.createGroup('ops', `${bob.name} ${carol.name}`);
  await until(() => groupConversation(bob.chat) !== undefined && groupConversation(carol.chat) !== undefined, 'the group');
  const atCarol = groupConversation(carol.chat)!;
  carol.chat.select(atCarol);

  await alice.chat.removeGroupMember(carol.userId);
  expect(texts(ops, 'event').at(-1)).toBe(`You removed ${carol.name}.`);
  await until(() => atCarol.left === true, 'carol to learn she was removed');
  expect(texts(atCarol, 'event').at(-1)).toBe(`${alice.userId.slice(0, 8)}… removed you.`);

  alice.chat.send('after carol');
  await until(() => texts(groupConversation(bob.chat), 'in').includes('after carol'), 'bob to get it');
  const failed = carol.chat.send('still here?')!;
  await until(() => failed.delivery === 'failed', 'carol send to fail');
  expect(failed.failure).toBe('NOT_FOUND');
  expect(texts(atCarol, 'in')).toEqual([]);
  expect(texts(ops, 'in')).toEqual([]);
});
