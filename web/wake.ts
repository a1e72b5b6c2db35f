/**
 * What the web chat does with a Web Push wake-up (ARCH §6.13), shared by the service worker (web/sw.ts), the page
 * (web/notifications.ts) and tests. A wake-up carries nothing readable: its payload is the constant `{"t":"wake"}`
 * the sender encrypts to this browser's subscription, so the notification can only say that something waits.
 */

/** The one notification the chat shows for wake-ups: each new one replaces the last (RFC 8030's `Topic` does the same upstream). */
export const WAKE_TAG = 'ebb-wake';
export const WAKE_TITLE = 'New message';
/** Names no sender and no text: the push service and this worker know neither. */
export const WAKE_BODY = 'Open the chat to read it.';
/** What the worker posts to a visible chat window instead of notifying, so an offline page connects now. */
export const WAKE_POST = 'ebb-wake';

/** True for an ebb wake-up's payload (`{"t":"wake"}`); false for anything else this origin might be pushed. */
export function isWake(payload: string | null | undefined): boolean {
  if (typeof payload !== 'string') return false;
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && (value as { t?: unknown }).t === 'wake';
  } catch {
    return false;
  }
}

/**
 * A wake-up with a chat window in view needs no notification (the page shows what arrives, and Chrome only asks
 * for one when no window of the origin is visible); with none in view, it gets one.
 */
export function wakeAction(windows: readonly { readonly visibilityState: string }[]): 'notify' | 'tell' {
  return windows.some((window) => window.visibilityState === 'visible') ? 'tell' : 'notify';
}

/**
 * The notification's options: the body names no one and quotes nothing; `renotify` alerts again for a later
 * wake-up (at most one a minute per device) rather than replacing the last one silently.
 */
export function wakeNotification(): NotificationOptions & { readonly renotify: boolean } {
  return { body: WAKE_BODY, tag: WAKE_TAG, renotify: true };
}
