/** setTimeout's limit: a longer delay fires at once, and an expiry may be up to a year away. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Callbacks due at wall-clock times, cancelled together when the chat closes. */
export class Alarms {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly now: () => number) {}

  /** Runs `callback` once `now()` has reached `atMs`. */
  at(atMs: number, callback: () => void): void {
    const delay = Math.max(0, atMs - this.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (delay > MAX_DELAY_MS) this.at(atMs, callback);
        else callback();
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    // Pending expiries must not keep a finished chat process alive.
    timer.unref();
    this.timers.add(timer);
  }

  cancelAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
