import type { DeviceInfo } from '../client-sdk/src';
import { SendWording, explainCode } from './errors';
import type { ChatMessage, Conversation, ReceiptKind } from './history';

/** ✓ delivered to a device of the recipient, ✓✓ read there (ARCH §8.6). */
const TICKS: Readonly<Record<ReceiptKind, { readonly text: string; readonly label: string }>> = {
  delivered: { text: '✓', label: 'delivered' },
  read: { text: '✓✓', label: 'read' },
};

/** Shortened user id for lists and headers; the full id is in the title. */
export function shortId(userId: string): string {
  return `${userId.slice(0, 8)}…`;
}

export function conversationName(conversation: Conversation): string {
  return conversation.label ?? shortId(conversation.peerId);
}

/** The 60 digits in twelve groups of five, as Signal shows them, whatever spacing `digits` came with. */
export function groupDigits(digits: string): string {
  const plain = digits.replace(/\D/g, '');
  return plain.match(/\d{1,5}/g)?.join(' ') ?? plain;
}

/** "12 s", "4 min", "3 h", "2 d": time left until `deadline`. */
export function timeLeft(deadline: number, now: number): string {
  const seconds = Math.max(0, Math.ceil((deadline - now) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.ceil(seconds / 3600)} h`;
  return `${Math.ceil(seconds / 86_400)} d`;
}

/** The timer a message shows, or null: the nearer of its expiry and its burn deadline. */
export function deadlineOf(message: ChatMessage): { at: number; kind: 'disappears' | 'burns' } | null {
  const { expiresAt, burnAt } = message;
  if (burnAt !== undefined && (expiresAt === undefined || burnAt < expiresAt)) return { at: burnAt, kind: 'burns' };
  return expiresAt === undefined ? null : { at: expiresAt, kind: 'disappears' };
}

/**
 * One message bubble. Text goes in through textContent only: nothing a peer sends is ever parsed as HTML.
 * `onRetry` is called by the Retry button of a failed send; `sender` names the member who sent a received
 * group message.
 */
export function messageElement(message: ChatMessage, now: number, onRetry: () => void, sender?: string, files?: FilesView): HTMLLIElement {
  const item = document.createElement('li');
  item.className = `message ${message.direction}${message.delivery === 'failed' ? ' failed' : ''}`;
  item.dataset.id = message.id;
  if (message.direction === 'event') {
    item.textContent = message.text;
    return item;
  }
  if (sender !== undefined) {
    const from = document.createElement('div');
    from.className = 'sender';
    from.textContent = sender;
    item.append(from);
  }
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = message.text;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = new Date(message.at).toISOString();
  time.textContent = new Date(message.at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  meta.append(time);
  const deadline = deadlineOf(message);
  if (deadline) {
    const timer = document.createElement('span');
    timer.className = 'timer';
    timer.dataset.deadline = String(deadline.at);
    timer.dataset.kind = deadline.kind;
    timer.textContent = `${deadline.kind} in ${timeLeft(deadline.at, now)}`;
    meta.append(timer);
  } else if (message.direction === 'out' && message.burnAfterReadingSeconds !== undefined) {
    const burn = document.createElement('span');
    burn.textContent = `burns ${message.burnAfterReadingSeconds} s after reading`;
    meta.append(burn);
  }
  if (message.delivery) {
    const delivery = document.createElement('span');
    delivery.className = 'delivery';
    delivery.dataset.delivery = message.delivery;
    delivery.textContent = message.delivery === 'failed' ? 'not sent' : message.delivery;
    meta.append(delivery);
    if (message.fromDevice !== undefined) {
      const from = document.createElement('span');
      from.className = 'from-device';
      from.textContent = `from device ${message.fromDevice}`;
      meta.append(from);
    }
    if (message.delivery === 'sent' && message.receipt) {
      const tick = document.createElement('span');
      tick.className = 'receipt';
      tick.dataset.receipt = message.receipt;
      tick.textContent = TICKS[message.receipt].text;
      tick.title = TICKS[message.receipt].label;
      tick.setAttribute('aria-label', TICKS[message.receipt].label);
      meta.append(tick);
    }
    if (message.delivery === 'failed') {
      const why = document.createElement('span');
      why.className = 'failure';
      why.textContent = explainCode(message.failure ?? 'INTERNAL', SendWording);
      meta.append(why);
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'retry';
      retry.textContent = 'Retry';
      retry.addEventListener('click', onRetry);
      meta.append(retry);
    }
  }
  item.append(text);
  if (message.attachments?.length && files) item.append(attachmentsElement(message, files));
  if (message.delivery === 'sending' && message.progress !== undefined) {
    const bar = document.createElement('progress');
    bar.className = 'upload';
    bar.max = 1;
    bar.value = message.progress;
    bar.setAttribute('aria-label', 'Uploading');
    item.append(bar);
  }
  item.append(meta);
  return item;
}

/** What the page knows of one file of a message: where to show it from, or how its download goes. */
export interface FileState {
  /** An object URL of the file (sent from this page, or downloaded). */
  readonly url?: string;
  /** Download progress, 0 to 1, while it runs. */
  readonly progress?: number;
  /** Why the download failed, in words. */
  readonly error?: string;
}

/** The page's side of the files in messages (web/app.ts): their states and what a click does. */
export interface FilesView {
  state(message: ChatMessage, index: number): FileState;
  /** Images are fetched as soon as they are shown; other files when their button is clicked. */
  fetch(message: ChatMessage, index: number): void;
  save(message: ChatMessage, index: number): void;
}

/** `512 B`, `12.3 KB`, `3.0 MB` (binary multiples, as file managers round them). */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/**
 * The files of a message: images and voice notes inline once downloaded (a progress bar meanwhile), other files as a button
 * that saves them. Names go in through textContent and `alt` only; an image is shown from an object URL of
 * bytes that passed the SDK's checks, and only for the image types browsers decode safely in <img>.
 */
function attachmentsElement(message: ChatMessage, files: FilesView): HTMLElement {
  const list = document.createElement('div');
  list.className = 'attachments';
  message.attachments!.forEach((attachment, index) => {
    const state = files.state(message, index);
    const item = document.createElement('div');
    item.className = 'attachment';
    item.dataset.name = attachment.name;
    if (INLINE_IMAGES.has(attachment.type) && state.url) {
      const image = document.createElement('img');
      image.src = state.url;
      image.alt = attachment.name;
      item.append(image);
    } else if (INLINE_AUDIO.has(attachment.type) && state.url) {
      const audio = document.createElement('audio');
      audio.controls = true;
      audio.src = state.url;
      audio.setAttribute('aria-label', attachment.name);
      item.append(audio);
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary file';
      button.textContent = `${attachment.name} (${fileSize(attachment.size)})`;
      button.addEventListener('click', () => files.save(message, index));
      item.append(button);
      const inline = INLINE_IMAGES.has(attachment.type) || INLINE_AUDIO.has(attachment.type);
      if (inline && state.progress === undefined && state.error === undefined) files.fetch(message, index);
    }
    if (state.progress !== undefined) {
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = state.progress;
      bar.setAttribute('aria-label', `Downloading ${attachment.name}`);
      item.append(bar);
    }
    if (state.error !== undefined) {
      const why = document.createElement('span');
      why.className = 'failure';
      why.textContent = state.error;
      item.append(why);
    }
    list.append(item);
  });
  return list;
}

/** Image types shown inline: raster formats every browser decodes in <img> (no SVG, which can carry script). */
const INLINE_IMAGES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);
/** Audio types played inline (voice notes): what browsers record and play. */
const INLINE_AUDIO = new Set(['audio/webm', 'audio/ogg', 'audio/mpeg', 'audio/mp4', 'audio/wav']);

/** Refreshes the countdowns under `root` without rebuilding the list. */
export function updateTimers(root: ParentNode, now: number): void {
  for (const timer of root.querySelectorAll<HTMLElement>('.timer[data-deadline]')) {
    timer.textContent = `${timer.dataset.kind} in ${timeLeft(Number(timer.dataset.deadline), now)}`;
  }
}

/**
 * One row of the devices list. `onRemove`, when given, is the row's Remove button: the first device
 * removes others, any device removes itself. A name comes from the account's own devices, but goes in
 * through textContent all the same.
 */
export function deviceElement(info: DeviceInfo, onRemove: (() => void) | undefined): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.device = String(info.device);
  const name = document.createElement('span');
  name.className = 'device-name';
  name.textContent = `${info.name ?? (info.device === 1 ? 'First device' : 'Unnamed device')} (device ${info.device})`;
  const notes = document.createElement('span');
  notes.className = 'note';
  const since = info.device === 1 ? 'created the account' : 'linked';
  notes.textContent = [
    `${since} ${info.linkedAt.toLocaleDateString()}`,
    ...(info.current ? ['this browser'] : []),
    ...(info.ready ? [] : ['not connected yet']),
  ].join(' · ');
  item.append(name, notes);
  if (onRemove) {
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.textContent = info.current ? 'Remove this device' : 'Remove';
    remove.addEventListener('click', onRemove);
    item.append(remove);
  }
  return item;
}

/**
 * One row of a group's member list: the name (the full user id in the title), "admin", and, for an admin
 * looking at another member, a Remove button calling `onRemove`.
 */
export function memberElement(userId: string, name: string, admin: boolean, onRemove: (() => void) | undefined): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.member = userId;
  const label = document.createElement('span');
  label.className = 'member-name';
  label.textContent = name;
  label.title = userId;
  item.append(label);
  if (admin) {
    const badge = document.createElement('span');
    badge.className = 'note admin';
    badge.textContent = 'admin';
    item.append(badge);
  }
  if (onRemove) {
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove ${name}`);
    remove.addEventListener('click', onRemove);
    item.append(remove);
  }
  return item;
}
