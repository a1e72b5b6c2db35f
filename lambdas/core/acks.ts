import type { AckFrame } from '../../protocol/frames';
import type { Caller, DeviceAddress, Ports } from './ports';

type AckEntries = AckFrame['messages'];

/**
 * Removes `messages` from the caller's own queue: the partition comes from the authenticated connection,
 * never from the frame, so naming another user's messages removes nothing. Each removed message gives back
 * the share it was counted in; a message already gone (a repeated ack) gives back nothing.
 */
export async function removeOwn(ports: Pick<Ports, 'queue' | 'clock'>, caller: Caller, messages: AckEntries): Promise<void> {
  const own: DeviceAddress = { userId: caller.userId, device: caller.device };
  await ports.queue.release(own, await ports.queue.remove(own, messages, ports.clock.now()));
}

/**
 * The acks riding on a `send` or `fanout` (ARCH §6.5): the caller's own acks, applied as a quiet `ack` would
 * apply them, beside the send's own round trips. `start` runs once the caller's account was found current and
 * not suspended (the checks `ack` makes), so a refused caller removes nothing; a send refused after that (rate
 * limit, unknown recipient, full queue) still applies them, as acking does not depend on sending.
 *
 * A failure to apply them never fails the send: the result says `acksApplied: false` and the client sends
 * them again in an `ack` (a repeated removal is harmless). A send that failed at all is answered with an error,
 * which says nothing of its acks: the client sends those again too.
 */
export class RidingAcks {
  private applying?: Promise<boolean>;

  constructor(
    private readonly ports: Pick<Ports, 'queue' | 'clock' | 'logger'>,
    private readonly caller: Caller,
    private readonly messages: AckEntries | undefined,
  ) {}

  /** Starts removing the acks, if the frame carried any; never rejects. */
  start(): void {
    const { messages } = this;
    this.applying ??=
      messages &&
      removeOwn(this.ports, this.caller, messages).then(
        () => true,
        (error: unknown) => {
          // A count and the error's name only (ARCH §12): the client sends them again in its next ack.
          this.ports.logger.warn('acks not applied', { failed: messages.length, error: (error as Error)?.name });
          return false;
        },
      );
  }

  /** Waits for the removal started; the result's field (none when the frame carried no acks). */
  async settle(): Promise<{ acksApplied?: boolean }> {
    return this.messages ? { acksApplied: (await this.applying) ?? false } : {};
  }
}

/**
 * Runs `deliver` (a `send` or `fanout`) with the acks its frame carries, and answers its result with
 * `acksApplied`. Its error, if any, passes on once the acks have settled: nothing is left running after the
 * invocation answers.
 */
export async function withRidingAcks<R extends object>(
  ports: Pick<Ports, 'queue' | 'clock' | 'logger'>,
  caller: Caller,
  acks: AckEntries | undefined,
  deliver: (riding: RidingAcks) => Promise<R>,
): Promise<R & { acksApplied?: boolean }> {
  const riding = new RidingAcks(ports, caller, acks);
  try {
    const result = await deliver(riding);
    return { ...result, ...(await riding.settle()) };
  } catch (error) {
    await riding.settle();
    throw error;
  }
}
