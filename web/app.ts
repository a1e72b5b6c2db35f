/**
 * The ebb web chat: a plain-DOM page over the SDK, served by the local stack (local/web.ts).
 * It never logs: message text and keys stay in the SDK's and the chat's IndexedDB databases.
 */
import { EbbClient, EbbError, IndexedDbStore, type Phase, type ReceivedMessage, type SunsetSchedule } from '../client-sdk/src';
import { ChatHistory, type ChatMessage, type Conversation } from './history';
import { conversationName, groupDigits, messageElement, shortId, updateTimers } from './render';
import { sunsetText } from './sunset';

const USER_ID = /^[A-Za-z0-9_-]{32}$/;
const USERNAME = /^[A-Za-z0-9_]{3,32}$/;
const TICK_MS = 500;

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  userId: byId<HTMLElement>('user-id'),
  copyId: byId<HTMLButtonElement>('copy-id'),
  usernameForm: byId<HTMLFormElement>('username-form'),
  username: byId<HTMLInputElement>('username'),
  usernameStatus: byId<HTMLElement>('username-status'),
  connection: byId<HTMLElement>('connection'),
  sunset: byId<HTMLElement>('sunset'),
  sunsetText: byId<HTMLElement>('sunset-text'),
  exportButton: byId<HTMLButtonElement>('export'),
  exportDialog: byId<HTMLDialogElement>('export-dialog'),
  exportForm: byId<HTMLFormElement>('export-form'),
  exportCancel: byId<HTMLButtonElement>('export-cancel'),
  passphrase: byId<HTMLInputElement>('passphrase'),
  exportError: byId<HTMLElement>('export-error'),
  startForm: byId<HTMLFormElement>('start-form'),
  peer: byId<HTMLInputElement>('peer'),
  startError: byId<HTMLElement>('start-error'),
  conversations: byId<HTMLUListElement>('conversations'),
  chat: byId<HTMLElement>('chat'),
  empty: byId<HTMLElement>('empty'),
  peerName: byId<HTMLElement>('peer-name'),
  safety: byId<HTMLDetailsElement>('safety'),
  safetyNumber: byId<HTMLElement>('safety-number'),
  identityWarning: byId<HTMLElement>('identity-warning'),
  identityWarningText: byId<HTMLElement>('identity-warning-text'),
  acceptIdentity: byId<HTMLButtonElement>('accept-identity'),
  messages: byId<HTMLOListElement>('messages'),
  compose: byId<HTMLFormElement>('compose'),
  message: byId<HTMLTextAreaElement>('message'),
  expires: byId<HTMLSelectElement>('expires'),
  burn: byId<HTMLSelectElement>('burn'),
  send: byId<HTMLButtonElement>('send'),
};

let client: EbbClient;
let history: ChatHistory;
let current: Conversation | undefined;

async function main(): Promise<void> {
  // One identity per deployment: a restarted local stack has forgotten every account (see local/web.ts).
  const deployment = document.querySelector<HTMLMetaElement>('meta[name="ebb-deployment"]')?.content ?? 'default';
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
  client = await EbbClient.create({ url, store: new IndexedDbStore(`ebb-${deployment}`) });
  history = new ChatHistory(new IndexedDbStore(`ebb-chat-${deployment}`));
  await history.load(Date.now());
  ui.userId.textContent = client.userId;
  ui.username.value = (await history.username()) ?? '';
  renderConversations();
  wireForms();

  // Listeners first: connect() hands every message queued while we were away to them.
  client.on('message', (message) => void receive(message).catch(() => undefined));
  client.on('notice', (notice) => showSunset(notice.phase, notice.schedule));
  client.on('identityChanged', ({ userId }) => void flagIdentityChange(userId).catch(() => undefined));
  client.on('error', (error) => setConnection(false, `Disconnected (${error.code})`));
  try {
    await client.connect();
    setConnection(true, 'Connected');
  } catch (error) {
    setConnection(false, `Cannot connect (${codeOf(error)})`);
  }
  try {
    const status = await client.status();
    showSunset(status.phase, status.schedule);
  } catch {
    // No status without a connection; a notice will bring it.
  }
  setInterval(() => void tick().catch(() => undefined), TICK_MS);
  document.addEventListener('visibilitychange', () => current && markShown(current));
}

function wireForms(): void {
  ui.copyId.addEventListener('click', () => {
    void navigator.clipboard.writeText(client.userId).then(
      () => flash(ui.copyId, 'Copied'),
      () => window.getSelection()?.selectAllChildren(ui.userId),
    );
  });

  ui.usernameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const username = ui.username.value.trim();
    note(ui.usernameStatus, 'Saving…');
    client.setUsername(username).then(
      async () => {
        await history.setUsername(username);
        note(ui.usernameStatus, `You are ${username}`);
      },
      (error: unknown) => {
        const code = codeOf(error);
        const why = code === 'CONFLICT' ? 'taken' : code === 'FORBIDDEN' ? 'reserved' : code === 'BAD_REQUEST' ? 'not 3–32 of A–Z, 0–9, _' : code;
        note(ui.usernameStatus, `Not set: ${why}`, true);
      },
    );
  });

  ui.startForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.startError.textContent = '';
    void startConversation(ui.peer.value.trim()).catch((error: unknown) => (ui.startError.textContent = `Could not start: ${codeOf(error)}`));
  });

  ui.compose.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.message.value;
    if (!current || text.trim() === '') return;
    const expiresInSeconds = ui.expires.value ? Number(ui.expires.value) : undefined;
    const burnAfterReadingSeconds = ui.burn.value ? Number(ui.burn.value) : undefined;
    const message: ChatMessage = {
      id: `out/${crypto.randomUUID()}`,
      direction: 'out',
      text,
      at: Date.now(),
      delivery: 'sending',
      ...(expiresInSeconds !== undefined && { expiresInSeconds, expiresAt: Date.now() + expiresInSeconds * 1000 }),
      ...(burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds }),
    };
    current.messages.push(message);
    ui.message.value = '';
    void deliver(current, message);
  });
  ui.message.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      ui.compose.requestSubmit();
    }
  });

  ui.safety.addEventListener('toggle', () => {
    if (ui.safety.open && current) void showSafetyNumber(current.peerId);
  });
  ui.acceptIdentity.addEventListener('click', () => {
    const conversation = current;
    if (!conversation) return;
    void client.acceptIdentity(conversation.peerId).then(async () => {
      conversation.identityChanged = false;
      await history.save(conversation);
      renderChat();
      if (ui.safety.open) await showSafetyNumber(conversation.peerId);
    });
  });

  ui.exportButton.addEventListener('click', () => {
    ui.exportError.textContent = '';
    ui.exportDialog.showModal();
  });
  ui.exportCancel.addEventListener('click', () => ui.exportDialog.close());
  ui.exportForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const passphrase = ui.passphrase.value;
    client.exportArchive(passphrase).then(
      (archive) => {
        ui.passphrase.value = '';
        ui.exportDialog.close();
        download(archive, `ebb-archive-${new Date().toISOString().slice(0, 10)}.ebb`);
      },
      (error: unknown) => (ui.exportError.textContent = `Export failed: ${codeOf(error)}`),
    );
  });
}

async function startConversation(input: string): Promise<void> {
  let peerId: string | null = null;
  let label: string | undefined;
  if (USERNAME.test(input)) {
    peerId = await client.lookupUsername(input);
    if (peerId) label = input;
  }
  if (!peerId && USER_ID.test(input)) peerId = input;
  if (!peerId) {
    ui.startError.textContent = USERNAME.test(input) ? `Nobody is called ${input}` : 'Enter a user id (32 characters) or a username';
    return;
  }
  if (peerId === client.userId) {
    ui.startError.textContent = 'That is your own user id';
    return;
  }
  const conversation = history.open(peerId, label);
  await history.save(conversation);
  ui.peer.value = '';
  select(conversation);
}

/** Sends (or retries) `message`, moving it through sending → sent, or → failed with the error's code. */
async function deliver(conversation: Conversation, message: ChatMessage): Promise<void> {
  message.delivery = 'sending';
  delete message.failure;
  await saveAndRender(conversation);
  try {
    const result = await client.send(conversation.peerId, message.text, {
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
      // Same id on a retry: the server queues it once and the recipient shows it once.
      ...(message.messageId !== undefined && { id: message.messageId }),
    });
    message.messageId = result.id;
    message.at = result.sentAt.getTime();
    if (message.expiresInSeconds !== undefined) message.expiresAt = message.at + message.expiresInSeconds * 1000;
    message.delivery = 'sent';
  } catch (error) {
    message.delivery = 'failed';
    message.failure = codeOf(error);
    if (error instanceof EbbError && error.messageId !== undefined) message.messageId = error.messageId;
    // send() refuses with FORBIDDEN while a changed identity is not accepted.
    if (message.failure === 'FORBIDDEN') conversation.identityChanged = true;
  }
  await saveAndRender(conversation);
}

async function receive(received: ReceivedMessage): Promise<void> {
  const conversation = history.open(received.from);
  const id = `in/${received.from}/${received.id}`;
  if (conversation.messages.some((message) => message.id === id)) return;
  const expiresAt = received.expiresAt?.getTime();
  if (expiresAt !== undefined && expiresAt <= Date.now()) return;
  conversation.messages.push({
    id,
    direction: 'in',
    text: received.text ?? `[${received.body.length} bytes of binary content]`,
    at: received.sentAt.getTime(),
    ...(expiresAt !== undefined && { expiresAt }),
    ...(received.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: received.burnAfterReadingSeconds }),
  });
  conversation.messages.sort((a, b) => a.at - b.at);
  if (received.identityChanged) conversation.identityChanged = true;
  if (conversation !== current || document.hidden) conversation.unread++;
  if (conversation === current) markShown(conversation);
  await saveAndRender(conversation);
}

async function flagIdentityChange(userId: string): Promise<void> {
  const conversation = history.open(userId);
  conversation.identityChanged = true;
  await saveAndRender(conversation);
}

/** Starts the burn timer of every received burn-after-reading message now on screen. */
function markShown(conversation: Conversation): void {
  if (document.hidden) return;
  const now = Date.now();
  let started = false;
  for (const message of conversation.messages) {
    if (message.direction === 'in' && message.burnAfterReadingSeconds !== undefined && message.burnAt === undefined) {
      message.burnAt = now + message.burnAfterReadingSeconds * 1000;
      started = true;
    }
  }
  conversation.unread = 0;
  if (started) void saveAndRender(conversation);
}

async function tick(): Promise<void> {
  const changed = await history.prune(Date.now());
  if (current && changed.includes(current)) renderChat();
  updateTimers(ui.messages, Date.now());
}

async function showSafetyNumber(peerId: string): Promise<void> {
  ui.safetyNumber.textContent = 'computing…';
  try {
    const digits = await client.safetyNumber(peerId);
    if (current?.peerId === peerId) ui.safetyNumber.textContent = groupDigits(digits);
  } catch (error) {
    ui.safetyNumber.textContent = `unavailable (${codeOf(error)})`;
  }
}

function showSunset(phase: Phase, schedule: SunsetSchedule): void {
  const text = sunsetText(phase, schedule);
  ui.sunset.hidden = text === null;
  ui.sunset.dataset.phase = phase;
  ui.sunsetText.textContent = text ?? '';
  if (schedule.noticeUrl && /^https?:\/\//i.test(schedule.noticeUrl)) {
    const link = document.createElement('a');
    link.href = schedule.noticeUrl;
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    link.textContent = 'More information';
    ui.sunsetText.append(' ', link);
  }
  ui.send.disabled = phase === 'read-only' || phase === 'shut-down';
}

function select(conversation: Conversation): void {
  current = conversation;
  ui.safety.open = false;
  ui.safetyNumber.textContent = '';
  markShown(conversation);
  renderConversations();
  renderChat();
  ui.message.focus();
}

async function saveAndRender(conversation: Conversation): Promise<void> {
  renderConversations();
  if (conversation === current) renderChat();
  await history.save(conversation);
}

function renderConversations(): void {
  ui.conversations.replaceChildren(
    ...[...history.conversations.values()].map((conversation) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.title = conversation.peerId;
      button.setAttribute('aria-current', String(conversation === current));
      const name = document.createElement('span');
      name.textContent = conversationName(conversation);
      button.append(name);
      if (conversation.unread > 0) {
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = String(conversation.unread);
        badge.setAttribute('aria-label', `${conversation.unread} unread`);
        button.append(badge);
      }
      button.addEventListener('click', () => select(conversation));
      item.append(button);
      return item;
    }),
  );
}

function renderChat(): void {
  ui.chat.hidden = !current;
  ui.empty.hidden = !!current;
  if (!current) return;
  const conversation = current;
  ui.peerName.textContent = conversation.label ? `${conversation.label} · ${shortId(conversation.peerId)}` : conversation.peerId;
  ui.peerName.title = conversation.peerId;
  ui.identityWarning.hidden = !conversation.identityChanged;
  ui.identityWarningText.textContent = `The safety number with ${conversationName(conversation)} has changed.`;
  const now = Date.now();
  ui.messages.replaceChildren(...conversation.messages.map((message) => messageElement(message, now, () => void deliver(conversation, message))));
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function setConnection(online: boolean, text: string): void {
  ui.connection.textContent = text;
  ui.connection.className = `connection ${online ? 'online' : 'offline'}`;
}

function note(element: HTMLElement, text: string, error = false): void {
  element.textContent = text;
  element.classList.toggle('error', error);
}

function flash(button: HTMLButtonElement, text: string): void {
  const label = button.textContent;
  button.textContent = text;
  setTimeout(() => (button.textContent = label), 1500);
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function codeOf(error: unknown): string {
  return error instanceof EbbError ? error.code : 'INTERNAL';
}

void main().catch((error: unknown) => setConnection(false, `Failed to start (${codeOf(error)})`));
