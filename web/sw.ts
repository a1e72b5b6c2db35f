/**
 * The web chat's service worker (`/sw.js`, ARCH §6.13): turns a Web Push wake-up into a notification "New message"
 * when no chat window is in view, or tells the visible window to connect; a click on the notification focuses the
 * chat or opens it. It holds no keys and reads no messages: the push carries nothing readable, and only the page
 * connects. Registered by the page only once the user enables notifications (web/notifications.ts).
 */
import { WAKE_POST, WAKE_TITLE, isWake, wakeAction, wakeNotification } from './wake';

// The few service-worker types used here, declared rather than taken from TypeScript's `webworker` lib, which
// cannot share a program with the DOM lib the rest of web/ is checked against.
interface ChatWindow {
  readonly url: string;
  readonly visibilityState: string;
  focus(): Promise<unknown>;
  postMessage(message: unknown): void;
}
interface ExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  readonly data: { text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
}
interface WorkerScope {
  readonly registration: ServiceWorkerRegistration;
  readonly clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly ChatWindow[]>;
    openWindow(url: string): Promise<unknown>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'push', listener: (event: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', listener: (event: NotificationEvent) => void): void;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
}
declare const self: WorkerScope;

// A new version takes over at once: the worker keeps no state that an old page could depend on.
self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  // Another push of this origin is not a wake-up; nothing else subscribes here, so it is ignored.
  if (!isWake(readPayload(event))) return;
  event.waitUntil(wake());
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openChat());
});

async function wake(): Promise<void> {
  const windows = await chatWindows();
  if (wakeAction(windows) === 'notify') {
    await self.registration.showNotification(WAKE_TITLE, wakeNotification());
    return;
  }
  for (const window of windows) window.postMessage({ type: WAKE_POST });
}

/** Focuses a chat window if one is open (the visible one first), or opens the chat. */
async function openChat(): Promise<void> {
  const windows = await chatWindows();
  const open = windows.find((window) => window.visibilityState === 'visible') ?? windows[0];
  if (open) await open.focus();
  else await self.clients.openWindow(self.registration.scope);
}

/** The origin's windows in the worker's scope (the whole chat). */
async function chatWindows(): Promise<readonly ChatWindow[]> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return windows.filter((window) => window.url.startsWith(self.registration.scope));
}

function readPayload(event: PushEvent): string | null {
  try {
    return event.data?.text() ?? null;
  } catch {
    return null;
  }
}
