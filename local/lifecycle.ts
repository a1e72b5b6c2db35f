import { phaseAt, scheduleFromConfig, type Phase, type SunsetSchedule } from '../protocol';
import { runLifecycle, type LifecycleOutcome, type LifecycleTask } from '../lambdas/core/lifecycle';
import type { LifecyclePorts } from '../lambdas/core/ports';

const DAY_MS = 86_400_000;

/**
 * What EventBridge Scheduler does on AWS, driven by the local stack's clock (which may jump): a
 * `phase-change` or `shutdown` when the phase changes (once, however many dates a jump passed), a
 * `purge` once `purgeAt` has passed, and a `countdown` each time the clock passes shutdown's time of
 * day, as the daily schedule fires. At most one notice per check: a phase change wins over a countdown.
 */
export class LocalLifecycle {
  private readonly schedule: SunsetSchedule;
  private phase: Phase;
  /** Whole days before shutdown of the last countdown instant passed (negative after shutdown). */
  private lastCountdown: number;
  private purged = false;
  private running: Promise<void> | undefined;
  private pending = 0;

  constructor(
    private readonly ports: LifecyclePorts,
    private readonly onOutcome: (outcome: LifecycleOutcome) => void = () => undefined,
  ) {
    const now = ports.clock.now();
    this.schedule = scheduleFromConfig(ports.config.sunset);
    this.phase = phaseAt(this.schedule, now);
    // The countdown instant already passed at start counts as run, as it would have on AWS.
    this.lastCountdown = this.countdownIndex(now);
  }

  /** Whether a check is running or waiting: the timer skips a beat rather than queue another. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Runs one check (after the one in progress, if any); never rejects. */
  tick(): Promise<void> {
    this.pending++;
    const next = (this.running ?? Promise.resolve()).then(() => this.check()).finally(() => this.pending--);
    this.running = next;
    return next;
  }

  /** Waits for the check in progress. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async check(): Promise<void> {
    const now = this.ports.clock.now();
    let notified = false;
    const phase = phaseAt(this.schedule, now);
    if (phase !== this.phase) {
      this.phase = phase;
      notified = true;
      await this.run(phase === 'shut-down' ? 'shutdown' : 'phase-change');
    }
    if (!this.purged && this.schedule.purgeAt !== null && now >= this.schedule.purgeAt) {
      this.purged = (await this.run('purge'))?.done ?? false;
    }
    const countdown = this.countdownIndex(now);
    if (countdown < this.lastCountdown) {
      this.lastCountdown = countdown;
      if (!notified) await this.run('countdown');
    }
  }

  private async run(task: LifecycleTask): Promise<LifecycleOutcome | undefined> {
    try {
      const outcome = await runLifecycle(this.ports, task);
      this.onOutcome(outcome);
      return outcome;
    } catch (error) {
      this.ports.logger.error('lifecycle failed', { task, error: (error as Error)?.name ?? 'unknown' });
      return undefined;
    }
  }

  /** k for the latest daily instant `shutdownAt - k days` at or before `now`. */
  private countdownIndex(now: number): number {
    if (this.schedule.shutdownAt === null) return Infinity;
    return Math.ceil((this.schedule.shutdownAt - now) / DAY_MS);
  }
}
