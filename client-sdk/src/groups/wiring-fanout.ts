import type { FanoutFrame } from '../../../protocol/frames';

export type FanoutBody = Omit<FanoutFrame, 'action' | 'rid'>;
export type FanoutRecipient = FanoutBody['recipients'][number];

/** The longest `rid` the protocol allows: sizes are computed for the worst case. */
const RID_PLACEHOLDER = 'r'.repeat(64);
const encoder = new TextEncoder();

/**
 * Splits one group message's recipients over as few `fanout` frames as fit (ARCH §6.11): each frame's JSON
 * under `maxFrameBytes` and at most `maxDevices` device copies, every frame with the same id, ciphertext and
 * commitment. A user whose devices do not fit the rest of a frame continues in the next one (a frame names a
 * user once). One frame for any group whose devices fit one.
 * @throws TypeError when the ciphertext leaves no room for one recipient: callers check sizes first.
 */
export function splitFanout(
  base: Omit<FanoutBody, 'recipients'>,
  recipients: readonly FanoutRecipient[],
  maxFrameBytes: number,
  maxDevices: number,
): FanoutBody[] {
  // `{…,"recipients":[]}` plus each recipient's JSON and a comma between two: exact, without re-encoding the frame.
  const emptyBytes = byteLength({ action: 'fanout', rid: RID_PLACEHOLDER, ...base, recipients: [] });
  const frames: FanoutBody[] = [];
  let current: FanoutRecipient[] = [];
  let bytes = emptyBytes;
  let devices = 0;
  const close = () => {
    if (current.length > 0) frames.push({ ...base, recipients: current });
    current = [];
    bytes = emptyBytes;
    devices = 0;
  };
  for (const recipient of recipients) {
    let left = [...recipient.devices];
    while (left.length > 0) {
      // As many of the user's devices as this frame still takes (by count, then by bytes).
      let take = Math.min(left.length, maxDevices - devices);
      let entry = { ...recipient, devices: left.slice(0, take) };
      while (take > 0 && bytes + separator(current) + byteLength(entry) >= maxFrameBytes) {
        take--;
        entry = { ...recipient, devices: left.slice(0, take) };
      }
      if (take === 0) {
        if (current.length === 0) throw new TypeError('a fan-out recipient does not fit in one frame');
        close();
        continue;
      }
      bytes += separator(current) + byteLength(entry);
      devices += take;
      current.push(entry);
      left = left.slice(take);
      if (left.length > 0 || devices >= maxDevices) close();
    }
  }
  close();
  return frames;
}

function separator(current: readonly unknown[]): number {
  return current.length > 0 ? 1 : 0;
}

function byteLength(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}
