import { SendWording, explainCode } from './errors';
import type { ChatMessage, Conversation } from './history';

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
 * `onRetry` is called by the Retry button of a failed send.
 */
export function messageElement(message: ChatMessage, now: number, onRetry: () => void): HTMLLIElement {
  const item = document.createElement('li');
  item.className = `message ${message.direction}${message.delivery === 'failed' ? ' failed' : ''}`;
  item.dataset.id = message.id;
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
  item.append(text, meta);
  return item;
}

/** Refreshes the countdowns under `root` without rebuilding the list. */
export function updateTimers(root: ParentNode, now: number): void {
  for (const timer of root.querySelectorAll<HTMLElement>('.timer[data-deadline]')) {
    timer.textContent = `${timer.dataset.kind} in ${timeLeft(Number(timer.dataset.deadline), now)}`;
  }
}
