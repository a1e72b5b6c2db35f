/**
 * The page's side of notifications (ARCH §6.13): nothing happens until the user presses "Enable notifications"
 * (the permission prompt comes from that press, never on load). Enabling registers the service worker
 * (web/sw.ts), subscribes with the `applicationServerKey` that `status` announces, and hands the subscription to
 * the service (`registerPush`). A reload renews all three without asking again, as long as the browser still
 * allows notifications. The subscription held by the browser is this page's only state besides one flag in
 * `localStorage` saying the user wants notifications (no key, no id).
 */
import { PlainError } from './errors';
import { WAKE_POST, WAKE_TAG } from './wake';

/** What the page needs of the chat (a ChatController). */
export interface PushAccount {
  pushKey(): Promise<string | null>;
  registerPush(subscription: PushSubscription): Promise<void>;
  unregisterPush(): Promise<void>;
}

/** `on`: the user enabled them here and the browser allows them; `blocked`: the browser refuses them. */
export type NotificationsState = 'off' | 'on' | 'blocked';

const WORKER_URL = '/sw.js';
const BLOCKED = "This browser blocks notifications from this page. Allow them in the site's settings, then try again.";
const NO_PUSH_SERVICE =
  'This browser could not subscribe at its push service, so notifications stay off. Messages still arrive while the page is open.';

export class WebNotifications {
  /** `storageKey` names the flag in `localStorage`: one per deployment, as the chat's databases are. */
  constructor(private readonly storageKey: string) {}

  /** Whether this browser can have a service worker wake it: service workers, the Push API and notifications. */
  static supported(): boolean {
    return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  }

  get state(): NotificationsState {
    if (Notification.permission === 'denied') return 'blocked';
    return this.wanted && Notification.permission === 'granted' ? 'on' : 'off';
  }

  /**
   * Asks the browser for permission (call it from the user's click), then subscribes and registers.
   * @throws PlainError saying why notifications stay off.
   */
  async enable(account: PushAccount): Promise<void> {
    const key = await account.pushKey();
    if (key === null) throw new PlainError('This service sends no notifications.');
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') throw new PlainError(permission === 'denied' ? BLOCKED : 'Notifications stay off.');
    await this.subscribe(account, key);
    localStorage.setItem(this.storageKey, 'on');
  }

  /**
   * On load: renews the worker, the subscription and its registration if the user enabled notifications here
   * earlier, without asking. If the browser no longer allows them, the service forgets the subscription.
   * Resolves with whether notifications are on.
   * @throws PlainError when renewing failed (they stay wanted, and the next load tries again).
   */
  async restore(account: PushAccount): Promise<boolean> {
    if (!this.wanted) return false;
    if (Notification.permission !== 'granted') {
      localStorage.removeItem(this.storageKey);
      await account.unregisterPush().catch(() => undefined);
      return false;
    }
    const key = await account.pushKey();
    if (key === null) return false;
    await this.subscribe(account, key);
    return true;
  }

  /**
   * Turns them off: the browser drops its subscription and the service forgets it.
   * @throws PlainError when the service could not be told (the browser's subscription is gone already, so no
   *   wake-up can reach this browser; the service drops its copy at the first push).
   */
  async disable(account: PushAccount): Promise<void> {
    localStorage.removeItem(this.storageKey);
    await (await this.subscription())?.unsubscribe();
    await account.unregisterPush();
  }

  /** The account is gone from this browser (the service removed the subscription with the device): drops the browser's too. */
  async forget(): Promise<void> {
    localStorage.removeItem(this.storageKey);
    await (await this.subscription())?.unsubscribe();
  }

  /** Closes the "New message" notifications shown: the chat is in view now. */
  async clearShown(): Promise<void> {
    const registration = await navigator.serviceWorker.getRegistration();
    for (const notification of (await registration?.getNotifications({ tag: WAKE_TAG })) ?? []) notification.close();
  }

  /** Calls `wake` when the worker passes a wake-up on to this page, which is in view. */
  onWake(wake: () => void): void {
    navigator.serviceWorker.addEventListener('message', (event: MessageEvent<unknown>) => {
      if ((event.data as { type?: unknown } | null)?.type === WAKE_POST) wake();
    });
    navigator.serviceWorker.startMessages();
  }

  private get wanted(): boolean {
    return localStorage.getItem(this.storageKey) === 'on';
  }

  private async subscription(): Promise<PushSubscription | null> {
    const registration = await navigator.serviceWorker.getRegistration();
    return (await registration?.pushManager.getSubscription()) ?? null;
  }

  /** Registers the worker, subscribes with `key` (again, if the subscription was made with another), registers that. */
  private async subscribe(account: PushAccount, key: string): Promise<void> {
    let registration: ServiceWorkerRegistration;
    try {
      await navigator.serviceWorker.register(WORKER_URL);
      // subscribe() needs an active worker.
      registration = await navigator.serviceWorker.ready;
    } catch {
      throw new PlainError("This browser would not run the page's service worker, so notifications stay off.");
    }
    const applicationServerKey = fromBase64Url(key);
    let subscription: PushSubscription | null;
    try {
      subscription = await registration.pushManager.getSubscription();
      // A deployment's key changes only when it is set up again (a restarted local stack): its pushes would be refused.
      if (subscription && !madeWith(subscription, applicationServerKey)) {
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey });
    } catch {
      throw new PlainError(NO_PUSH_SERVICE);
    }
    await account.registerPush(subscription);
  }
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether `subscription` was made with `key`; a browser that does not say is trusted to have kept it. */
function madeWith(subscription: PushSubscription, key: Uint8Array): boolean {
  const buffer = subscription.options.applicationServerKey;
  if (!buffer) return true;
  const bytes = new Uint8Array(buffer);
  return bytes.length === key.length && bytes.every((byte, i) => byte === key[i]);
}
