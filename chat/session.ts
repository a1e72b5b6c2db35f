import * as v from 'valibot';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { printable } from '../shared/printable';
import { EbbClient, EbbError, FileStore, type ReceivedMessage, type SendOptions, type SentMessage } from '../client-sdk/src';
import { MessageId, UserId, Username } from '../protocol/frames';
import { byTenths, downloadFailure, fileAttachment, fileFailure, saveAttachment, sizeText } from './attachments';
import { deviceLine, qrLines } from './devices';
import { GroupCommands } from './group-commands';
import { groupRefusal, words } from './groups';
import { clock, duration, failure, needsBanner, peerLabel, sunsetBanner } from './format';
import type { ChatOutput } from './output';
import { Profile } from './profile';
import { ReceivedMessages } from './received';
import { Recovery, type RecoveryOptions } from './recovery';
import { SentLines } from './sent';

export interface ChatSessionOptions {
  /** The service's WebSocket URL. */
  readonly url: string;
  /** Directory of the profile: a FileStore holding the identity, sessions and the chat's own entries. */
  readonly profile: string;
  readonly out: ChatOutput;
  /** Asked for by `/export`; rejecting cancels the export. */
  readonly passphrase: () => Promise<string>;
  /** Clock in ms since the epoch, for the client and for expiries. @default Date.now */
  readonly now?: () => number;
  /** How soon the chat connects again after the client stopped reconnecting (see Recovery). */
  readonly recovery?: RecoveryOptions;
  /** Called once the session ended by itself (its device was removed from the account): stop reading lines. */
  readonly onEnd?: () => void;
}

/** The protocol's bound on expiresInSeconds, which burn-after-reading shares. */
const MAX_SECONDS = 365 * 86_400;

export const HELP = [
  'plain text                send to the current conversation (start a line with // to send one starting with /)',
  '/to USERID | @name | #N   talk to a user (by id, by username, or the sender of received message #N)',
  '/to #group                talk in a group (#name, #"a name" or # and its id)',
  '/group new NAME @a @b …   make a group with these users, you its admin (a NAME of several words in "quotes")',
  '/group add #group @c …    add members (admins only); /group remove #group @c … removes them',
  '/group promote #group @c  make members admins (admins only)',
  '/group rename #group NAME rename a group (admins only)',
  '/group leave #group       leave a group',
  '/groups                   list your groups with their members and admins',
  '/id                       show your user id and username',
  '/name NAME                set your username (3 to 32 of A-Z a-z 0-9 _)',
  '/expire SECONDS | off     next messages expire this long after sending',
  '/burn SECONDS | off       next messages are deleted this long after the peer reads them',
  '/safety [USER]            safety number with the current conversation (or USER): compare it in person',
  "/accept [USER]            trust a peer's new identity key after comparing safety numbers",
  '/report N REASON          report received message #N to the operator (reveals its content to them)',
  "/file PATH [CAPTION]      send the file at PATH (encrypted, up to the service's attachment limit)",
  '/save N [DIR]             save the attachments of received message #N into DIR (default: here)',
  '/export FILE              write an encrypted archive of this account (asks for a passphrase)',
  '/link                     on a new profile: make it another device of an account you have (shows a code)',
  '/approve CODE [NAME]      on your first device: link the device that shows CODE, named NAME',
  '/devices                  list the devices of this account',
  "/remove N                 remove device N from this account (/remove with this profile's number: leave it)",
  '/quit                     leave',
] as const;

/**
 * A terminal chat without the terminal: lines in through `handleLine`, lines out through a `ChatOutput`.
 * Everything a peer controls is escaped before it is printed, so no peer can drive the user's terminal.
 */
export class ChatSession {
  private peer: string | undefined;
  /** The group that is the current conversation, instead of `peer`. */
  private group: string | undefined;
  private expiresInSeconds: number | undefined;
  private burnAfterReadingSeconds: number | undefined;
  private readonly received: ReceivedMessages;
  private readonly recovery: Recovery;
  private readonly changedIdentities = new Set<string>();
  private readonly sending = new Set<Promise<void>>();
  private readonly sentLines = new SentLines();
  private readonly groups: GroupCommands;
  private closed = false;
  /** The account was used from this profile (a username, a message in or out): /link would lose it. */
  private used = false;
  /** connect() succeeded: the account is registered (or linked) on the service. */
  private connected = false;
  /** A /link is waiting for approval: the client is not an account's device yet. */
  private linking = false;

  private constructor(
    private client: EbbClient,
    private readonly profile: Profile,
    private readonly options: ChatSessionOptions,
    private readonly now: () => number,
    /** This session made the profile: /link may replace its brand-new account. */
    private readonly fresh: boolean,
  ) {
    this.groups = new GroupCommands({
      client: () => this.client,
      print: (text) => this.print(text),
      resolve: (ref) => this.resolve(ref),
      label: (userId) => (userId === this.client.userId ? 'you' : this.label(userId)),
    });
    this.received = new ReceivedMessages(
      now,
      (userId) => this.label(userId),
      (text) => this.print(text),
      (groupId) => this.groups.labelOf(groupId),
    );
    this.recovery = new Recovery(
      () => this.client.connect(),
      (text) => this.print(text),
      options.recovery,
    );
  }

  /**
   * Loads (or creates) the profile's identity, connects and prints who the user is, any sunset banner and
   * every message that arrived while the chat was closed. A refusal by policy (signups closed, suspended)
   * is printed and the session stays up for `/id`, `/export`, notices and `/quit`.
   * @throws EbbError INTERNAL when the profile directory cannot be used or holds a corrupt identity, or
   *   when the service cannot be reached (`reason: 'unreachable'` when nothing listens at the URL). A
   *   profile this call created is removed again, so a failed first start leaves nothing behind.
   */
  static async open(options: ChatSessionOptions): Promise<ChatSession> {
    const fresh = await freshness(options.profile);
    try {
      return await ChatSession.openIn(options, fresh !== undefined);
    } catch (err) {
      if (fresh) await removeFresh(options.profile, fresh);
      throw err;
    }
  }

  private static async openIn(options: ChatSessionOptions, fresh: boolean): Promise<ChatSession> {
    const now = options.now ?? Date.now;
    const store = new FileStore(options.profile);
    const client = await EbbClient.create({ url: options.url, store, now });
    let session: ChatSession | undefined;
    try {
      session = new ChatSession(client, await Profile.load(store), options, now, fresh);
      await session.start();
      return session;
    } catch (err) {
      session?.recovery.stop();
      await client.close();
      throw err;
    }
  }

  get userId(): string {
    return this.client.userId;
  }

  /** Handles one line the user typed; resolves with false once the session has ended (`/quit`). */
  async handleLine(line: string): Promise<boolean> {
    if (this.closed) return false;
    const command = /^\/(\S+)\s*(.*)$/s.exec(line.trim());
    if (!command || line.startsWith('//')) {
      if (line.trim() !== '') this.send(line.startsWith('//') ? line.slice(1) : line);
      return true;
    }
    const [, name = '', rest = ''] = command;
    if (name === 'quit' || name === 'exit') {
      await this.close();
      return false;
    }
    try {
      await this.run(name, rest.trim());
    } catch (err) {
      this.print(`/${printable(name)} failed: ${failure(err)}`);
    }
    // `/remove` of this profile's own device ends the session.
    return !this.closed;
  }

  /** Waits for messages still being sent, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.recovery.stop();
    await Promise.allSettled([...this.sending]);
    this.received.stop();
    await this.client.close();
  }

  private async start(): Promise<void> {
    this.groups.learn();
    this.listen();
    this.print(`ebb chat on ${printable(this.options.url)}; your user id: ${this.client.userId}`);
    if (this.fresh) this.print('a new profile gets a new account; to make it another device of an account you have instead, type /link');
    await this.connectAndGreet();
  }

  private listen(): void {
    this.client.on('message', (message) => this.show(message));
    this.client.on('sent', (sent) => this.showSent(sent));
    this.client.on('receipt', (receipt) => this.sentLines.receipt(receipt));
    this.client.on('group', (event) => {
      this.used = true;
      this.groups.event(event);
    });
    this.client.on('notice', (notice) => this.print(sunsetBanner(notice, this.now())));
    this.client.on('identityChanged', ({ userId }) => this.warnIdentityChanged(userId));
    // The client reconnects by itself after a drop; it stops on a refusal, and the chat takes over.
    this.client.on('error', (err) => {
      if (EbbError.is(err) && err.reason === 'device-removed') void this.removedElsewhere();
      else this.recovery.failed(err);
    });
  }

  /** Connects, then prints the username, any sunset banner and the hint. */
  private async connectAndGreet(): Promise<void> {
    try {
      await this.client.connect();
      this.connected = true;
    } catch (err) {
      // Unreachable or timed out: a chat that can neither send nor receive ends, and the command fails.
      if (!EbbError.is(err)) throw err;
      if (err.code === 'INTERNAL') {
        throw new EbbError('INTERNAL', `could not connect: ${err.message}`, {
          retryable: err.retryable,
          cause: err,
          ...(err.reason && { reason: err.reason }),
        });
      }
      if (err.reason === 'device-removed') return this.removedElsewhere();
      // A refusal by policy keeps the socket open for status and notices; one that can be lifted is retried.
      this.print(`could not connect: ${failure(err)}`);
      if (err.code === 'ACCOUNT_SUSPENDED' || err.code === 'UNAUTHORIZED') this.recovery.failed(err);
    }
    await this.showUsername(true);
    const status = await this.client.status().catch(() => undefined);
    if (status && needsBanner(status, this.now())) this.print(sunsetBanner(status, this.now()));
    this.print('type /help for commands');
  }

  private async run(name: string, rest: string): Promise<void> {
    if (this.linking && name !== 'help') {
      this.print('waiting for the link to be approved on your first device (/quit gives up)');
      return;
    }
    switch (name) {
      case 'help':
        for (const line of HELP) this.print(line);
        return;
      case 'id':
        this.print(`your user id: ${this.client.userId}`);
        return this.showUsername(false);
      case 'name':
        return this.setUsername(rest.replace(/^@/, ''));
      case 'to':
        return this.choosePeer(rest);
      case 'group':
        return this.groups.run(rest);
      case 'groups':
        return this.groups.list();
      case 'expire':
      case 'burn':
        return this.setTimer(name, rest);
      case 'safety':
        return this.showSafetyNumber(rest);
      case 'accept':
        return this.acceptIdentity(rest);
      case 'report':
        return this.report(rest);
      case 'file':
        return this.sendFile(rest);
      case 'save':
        return this.save(rest);
      case 'export':
        return this.exportArchive(rest);
      case 'link':
        return this.link();
      case 'approve':
        return this.approve(rest);
      case 'devices':
        return this.listDevices();
      case 'remove':
        return this.removeDevice(rest);
      default:
        this.print(`unknown command /${printable(name)} (/help lists them)`);
    }
  }

  private print(text: string): void {
    this.options.out.line(text);
  }

  private label(userId: string): string {
    return peerLabel(userId, this.profile.nameOf(userId));
  }

  /** At start, checks the remembered name with the service: it is gone after an account deletion. */
  private async showUsername(verify: boolean): Promise<void> {
    const name = this.profile.username;
    if (name === undefined) {
      this.print('you have no username yet: /name NAME sets one');
      return;
    }
    if (verify) {
      const holder = await this.client.lookupUsername(name).catch(() => this.client.userId);
      if (holder !== this.client.userId) {
        await this.profile.setUsername(undefined);
        this.print(`your username @${printable(name)} is no longer yours: /name NAME sets one`);
        return;
      }
    }
    this.print(`your username: @${printable(name)}`);
  }

  private async setUsername(name: string): Promise<void> {
    if (!v.safeParse(Username, name).success) {
      this.print('usage: /name NAME, 3 to 32 characters of A-Z, a-z, 0-9 and _');
      return;
    }
    try {
      await this.client.setUsername(name);
    } catch (err) {
      if (EbbError.is(err, 'CONFLICT')) return this.print(`@${name} is taken`);
      if (EbbError.is(err, 'FORBIDDEN')) return this.print(`@${name} is reserved`);
      throw err;
    }
    await this.profile.setUsername(name);
    this.used = true;
    this.print(`your username is now @${name}`);
  }

  /** Printing a message is reading it: its sender gets a read receipt (and this account's other devices the read state). */
  private show(message: ReceivedMessage): void {
    this.used = true;
    this.received.show(message);
    void this.client.markRead(message).catch(() => undefined);
  }

  /** A message another device of this account sent, shown as sent from here, with its receipts to come. */
  private showSent(sent: SentMessage): void {
    this.used = true;
    const text = sent.text !== undefined ? printable(sent.text) : `(${sent.body.length} bytes that are not text)`;
    const head = `${clock(sent.sentAt.getTime())} → ${sent.group === undefined ? this.label(sent.to) : this.groups.labelOf(sent.group)}: ${text}`;
    const settle = this.options.out.progress(head);
    // A group's receipts come from many members: one tick could not say from whom, so group lines show none.
    if (sent.group !== undefined) settle(`${head}  (sent from device ${sent.fromDevice})`);
    else this.sentLines.add(sent.id, head, [`sent from device ${sent.fromDevice}`], settle);
  }

  /**
   * On a profile this session made, before it was used: gives up its brand-new account (deleted on the
   * service, its keys wiped) and makes the profile another device of an existing account instead. Prints the
   * code to approve there and waits, taking no other command, until the first device approved it.
   */
  private async link(): Promise<void> {
    if (!this.fresh || this.used) {
      this.print('/link works on a new profile only: this one holds an account. Start `ebb chat --profile NEW_DIR` and /link there.');
      return;
    }
    this.linking = true;
    try {
      this.recovery.stop();
      if (this.connected) await this.client.deleteAccount();
      else await this.client.close();
      const store = new FileStore(this.options.profile);
      for (const key of await store.list('')) await store.delete(key);
      this.client = await EbbClient.create({ url: this.options.url, store, now: this.now });
      this.connected = false;
      this.listen();
      const { code, linked } = await this.client.startLink();
      this.print('on your first device (the one that made the account), in `ebb chat` type:');
      this.print(`/approve ${code}`);
      this.print('or in the web chat open Devices and paste the code after /approve. Its QR code:');
      for (const line of qrLines(code)) this.print(line);
      this.print('waiting for the approval (the code is good for 10 minutes; /quit gives up)');
      void linked.then(
        () => this.linked().catch((err: unknown) => this.closed || this.print(`/link: ${failure(err)}`)),
        (err: unknown) => {
          this.linking = false;
          this.print(`linking failed: ${failure(err)}; /link again for a new code`);
        },
      );
    } catch (err) {
      this.linking = false;
      throw err;
    }
  }

  private async linked(): Promise<void> {
    this.linking = false;
    if (this.closed) return;
    this.used = true;
    this.print(`linked: this profile is device ${this.client.device} of ${this.client.userId}`);
    await this.connectAndGreet();
  }

  private async approve(args: string): Promise<void> {
    const parsed = /^(\S+)(?:\s+(.+))?$/s.exec(args);
    if (!parsed) {
      this.print('usage: /approve CODE [NAME] (CODE is what /link printed on the new device)');
      return;
    }
    const [, code = '', name] = parsed;
    try {
      const device = await this.client.approveLink(code, name === undefined ? {} : { name: name.trim() });
      this.used = true;
      this.print(`linked device ${device}${name === undefined ? '' : ` "${printable(name.trim())}"`}: it gets your messages once it has connected`);
    } catch (err) {
      if (EbbError.is(err, 'FORBIDDEN')) return this.print('only your first device, which holds the account key, approves new devices');
      throw err;
    }
  }

  private async listDevices(): Promise<void> {
    const devices = await this.client.devices();
    this.print(`devices of ${this.client.userId}:`);
    for (const info of devices) this.print(deviceLine(info));
  }

  private async removeDevice(arg: string): Promise<void> {
    if (!/^\d+$/.test(arg)) {
      this.print('usage: /remove N (N from /devices)');
      return;
    }
    const device = Number(arg);
    try {
      if (!(await this.client.removeDevice(device))) return this.print(`device ${device} is not a device of this account`);
    } catch (err) {
      if (EbbError.is(err, 'FORBIDDEN')) {
        return this.print(device === 1 ? 'device 1 holds the account key and cannot be removed' : 'only your first device removes other devices');
      }
      throw err;
    }
    if (device !== this.client.device) return this.print(`device ${device} removed: it can no longer connect`);
    await this.forget();
    this.print('this profile was removed from the account and its keys deleted; goodbye');
  }

  /** The service said this device was removed (from the first device): the chat says so, forgets and ends. */
  private async removedElsewhere(): Promise<void> {
    if (this.closed) return;
    try {
      await this.forget();
      this.print('this device was removed from the account, and this profile forgot it; goodbye');
    } catch (err) {
      this.print(`this device was removed from the account; the profile could not be wiped: ${failure(err)}`);
    }
    this.options.onEnd?.();
  }

  /** This profile is no longer a device of the account: nothing in it can be used again. */
  private async forget(): Promise<void> {
    await this.close();
    const store = new FileStore(this.options.profile);
    for (const key of await store.list('')) await store.delete(key);
  }

  private async choosePeer(ref: string): Promise<void> {
    if (ref === '') {
      if (this.group !== undefined) this.print(`talking in ${this.groups.labelOf(this.group)}`);
      else this.print(this.peer === undefined ? 'no conversation: /to USERID or /to @name' : `talking to ${this.label(this.peer)} (${this.peer})`);
      return;
    }
    // `#3` is received message 3; any other `#…` a group.
    if (ref.startsWith('#') && !/^#\d+$/.test(ref)) {
      const group = this.groups.find(words(ref)?.join(' ') ?? ref);
      if (group === undefined) return;
      this.group = group.id;
      this.peer = undefined;
      this.print(`talking in ${this.groups.labelOf(group.id)} (${group.members.length} members; /groups lists them)`);
      return;
    }
    const userId = await this.resolve(ref);
    if (userId === undefined) return;
    this.peer = userId;
    this.group = undefined;
    this.print(`talking to ${this.label(userId)} (${userId})`);
  }

  /** The user `ref` names (empty: the current conversation), or undefined after saying why there is none. */
  private async resolve(ref: string): Promise<string | undefined> {
    if (ref === '') {
      if (this.group !== undefined) this.print('the conversation is a group: name the user (@name or USERID)');
      else if (this.peer === undefined) this.print('no conversation: /to USERID or /to @name first');
      return this.peer;
    }
    const shortId = /^#(\d+)$/.exec(ref);
    if (shortId) {
      const message = this.received.get(Number(shortId[1]));
      if (!message) this.print(`no received message ${ref}`);
      return message?.from;
    }
    if (!ref.startsWith('@') && v.safeParse(UserId, ref).success) return ref;
    const name = ref.replace(/^@/, '');
    if (!v.safeParse(Username, name).success) {
      this.print(`${printable(ref)} is neither a user id nor a @username`);
      return undefined;
    }
    const userId = await this.client.lookupUsername(name);
    if (userId === null) {
      this.print(`no user is called @${name}`);
      return undefined;
    }
    await this.profile.remember(userId, name);
    return userId;
  }

  private setTimer(which: 'expire' | 'burn', value: string): void {
    const after = which === 'expire' ? 'after sending' : 'after the peer reads them';
    let seconds: number | undefined;
    if (value === 'off' || value === '0') seconds = undefined;
    else if (value === '') seconds = which === 'expire' ? this.expiresInSeconds : this.burnAfterReadingSeconds;
    else if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_SECONDS) seconds = Number(value);
    else {
      this.print(`usage: /${which} SECONDS (1 to ${MAX_SECONDS}) or /${which} off`);
      return;
    }
    if (value !== '') {
      if (which === 'expire') this.expiresInSeconds = seconds;
      else this.burnAfterReadingSeconds = seconds;
    }
    this.print(
      seconds === undefined ? `next messages do not ${which}` : `next messages ${which} ${duration(seconds)} ${after} (/${which} off to stop)`,
    );
  }

  /** `/file PATH [CAPTION]`: the file goes as an attachment of a message whose text is the caption. */
  private async sendFile(args: string): Promise<void> {
    // To a user or a group alike: send() hands it to sendToGroup in a group (uploaded once, its reference to every member).
    // A path with spaces goes in double quotes: /file "my photo.jpg" caption
    const parsed = /^(?:"([^"]+)"|(\S+))\s*(.*)$/s.exec(args.trim());
    if (!parsed) {
      this.print('usage: /file PATH [CAPTION] (a PATH with spaces in double quotes)');
      return;
    }
    const [, quoted, bare, caption = ''] = parsed;
    const path = quoted ?? bare ?? '';
    let file;
    try {
      file = await fileAttachment(path);
    } catch (err) {
      this.print(`cannot send ${printable(path)}: ${fileFailure(err)}`);
      return;
    }
    const label = `[file] ${printable(file.name)} (${sizeText(file.size)})`;
    this.send(caption, { name: file.name, type: file.type, data: file.data }, label);
  }

  /** `/save N [DIR]`: every attachment of received message #N, one after another, each with a progress line. */
  private async save(args: string): Promise<void> {
    const parsed = /^#?(\d+)(?:\s+(.+))?$/s.exec(args.trim());
    if (!parsed) {
      this.print('usage: /save N [DIR] (N is the #number shown next to a received message)');
      return;
    }
    const entry = this.received.get(Number(parsed[1]));
    if (!entry?.attachments?.length) {
      this.print(entry ? `message #${parsed[1]} has no attachments` : `no received message #${parsed[1]}`);
      return;
    }
    const dir = parsed[2]?.trim() ?? '.';
    for (const attachment of entry.attachments) {
      const name = printable(attachment.name);
      const update = this.options.out.progress(`saving ${name}: 0 %`);
      try {
        const path = await saveAttachment(
          attachment,
          dir,
          byTenths((done) => update(`saving ${name}: ${done}`)),
        );
        update(`saved ${name} to ${printable(path)} (${sizeText(attachment.size)})`);
      } catch (err) {
        update(`could not save ${name}: ${downloadFailure(err)}`);
      }
    }
  }

  /** Starts sending; its state line is updated when the service has stored the message or refused it. */
  private send(text: string, attachment?: NonNullable<SendOptions['attachments']>[number], label?: string): void {
    const { peer, group } = this;
    if (this.linking) {
      this.print('waiting for the link to be approved on your first device (/quit gives up)');
      return;
    }
    if (peer === undefined && group === undefined) {
      this.print('no conversation: /to USERID or /to @name first');
      return;
    }
    const shown = [printable(text), ...(label ? [label] : [])].filter((part) => part !== '').join(' ');
    const to = group === undefined ? this.label(peer!) : this.groups.labelOf(group);
    const head = `${clock(this.now())} → ${to}: ${shown}`;
    const settle = this.options.out.progress(`${head}  (sending…)`);
    const uploading = byTenths((done) => settle(`${head}  (uploading ${done})`));
    const options: SendOptions = {
      ...(this.expiresInSeconds !== undefined && { expiresInSeconds: this.expiresInSeconds }),
      ...(this.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: this.burnAfterReadingSeconds }),
      ...(attachment && { attachments: [attachment], onProgress: uploading }),
    };
    const notes = [
      ...(options.expiresInSeconds !== undefined ? [`expires in ${duration(options.expiresInSeconds)}`] : []),
      ...(options.burnAfterReadingSeconds !== undefined ? [`burns ${duration(options.burnAfterReadingSeconds)} after reading`] : []),
    ];
    this.used = true;
    const result = group === undefined ? this.client.send(peer!, text, options) : this.client.sendToGroup(group, text, options);
    const sending: Promise<void> = result.then(
      // A group's receipts come from many members: one tick could not say from whom, so group lines show none.
      ({ id }) =>
        group === undefined ? this.sentLines.add(id, head, ['sent', ...notes], settle) : settle(`${head}  (${['sent', ...notes].join(', ')})`),
      (err: unknown) => {
        const code = EbbError.is(err) ? err.code : 'INTERNAL';
        settle(`${head}  (failed: ${code}${group === undefined ? peerHint(code) : groupHint(err, to)})`);
      },
    );
    this.sending.add(sending);
    void sending.finally(() => this.sending.delete(sending));
  }

  private warnIdentityChanged(userId: string): void {
    this.changedIdentities.add(userId);
    const ref = userId === this.peer ? '' : ` ${this.profile.nameOf(userId) !== undefined ? this.label(userId) : userId}`;
    this.print(`!!! WARNING: the identity key of ${this.label(userId)} (${userId}) has CHANGED.`);
    this.print('!!! They reinstalled, or someone else now holds their account. Sending to them is blocked.');
    this.print(`!!! Compare safety numbers (/safety${ref}) with them in person or on a call, then /accept${ref} to trust the new key.`);
  }

  private async showSafetyNumber(ref: string): Promise<void> {
    const userId = await this.resolve(ref);
    if (userId === undefined) return;
    const number = await this.client.safetyNumber(userId);
    const pending = this.changedIdentities.has(userId) ? ' (their NEW key, not accepted yet)' : '';
    this.print(`safety number with ${this.label(userId)}${pending}: ${number}`);
  }

  private async acceptIdentity(ref: string): Promise<void> {
    const userId = await this.resolve(ref);
    if (userId === undefined) return;
    await this.client.acceptIdentity(userId);
    this.changedIdentities.delete(userId);
    this.print(`trusting the current identity key of ${this.label(userId)}; sending to them works again`);
  }

  private async report(args: string): Promise<void> {
    const parsed = /^#?(\S+)\s+(.+)$/s.exec(args);
    if (!parsed) {
      this.print('usage: /report N REASON (N is the #number shown next to a received message)');
      return;
    }
    const [, ref = '', reason = ''] = parsed;
    // A #number names one message, sender included; a bare id is refused by the SDK when two senders used it.
    const message = /^\d+$/.test(ref) ? this.received.get(Number(ref)) : v.safeParse(MessageId, ref).success ? ref : undefined;
    if (message === undefined) {
      this.print(`no received message #${printable(ref)}`);
      return;
    }
    const { reportId, duplicate } = await this.client.report(message, reason);
    this.print(duplicate ? `already reported as ${reportId}: the first report stands` : `reported to the operator as ${reportId}`);
  }

  private async exportArchive(file: string): Promise<void> {
    if (file === '') {
      this.print('usage: /export FILE');
      return;
    }
    let passphrase: string;
    try {
      passphrase = await this.options.passphrase();
    } catch (err) {
      this.print(`export cancelled${err instanceof Error && err.message ? `: ${printable(err.message)}` : ''}`);
      return;
    }
    const archive = await this.client.exportArchive(passphrase);
    try {
      // Never over another file, and readable by the user alone: it holds the account's secret keys.
      await writeFile(file, archive, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return this.print(`${printable(file)} exists: choose another file name`);
      throw err;
    }
    this.print(`archive written to ${printable(file)} (${archive.length} bytes): keep it, and its passphrase, safe`);
  }
}

/** send() refuses with FORBIDDEN only while the peer's changed identity key is not accepted. */
function peerHint(code: string): string {
  return code === 'FORBIDDEN' ? ': their identity key changed, /safety then /accept' : '';
}

/** Why a group message was refused, when the group says more than the code. */
function groupHint(err: unknown, group: string): string {
  const sentence = groupRefusal(err, group);
  return sentence === undefined ? '' : `: ${sentence}`;
}

/** Whether the profile directory is missing or empty, i.e. a start that fails may remove what it made. */
async function freshness(dir: string): Promise<'absent' | 'empty' | undefined> {
  try {
    return (await readdir(dir)).length === 0 ? 'empty' : undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : undefined;
  }
}

/** Removes what a failed first start wrote: the directory it created, or the files in the empty one it was given. */
async function removeFresh(dir: string, fresh: 'absent' | 'empty'): Promise<void> {
  if (fresh === 'absent') {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const entries = await readdir(dir).catch(() => []);
  await Promise.all(entries.map((entry) => rm(join(dir, entry), { recursive: true, force: true })));
}
