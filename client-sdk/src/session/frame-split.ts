import type { SendFrame } from '../../../protocol/frames';

export type DeviceCiphertext = SendFrame['messages'][number];
export type SendBody = Omit<SendFrame, 'action' | 'rid'>;

/** The longest `rid` the protocol allows: sizes are computed for the worst case. */
const RID_PLACEHOLDER = 'r'.repeat(64);
const encoder = new TextEncoder();

/**
 * Splits one send over as many frames as needed so that each frame's JSON stays under
 * `maxFrameBytes` and addresses at most `maxDevices` devices (ARCH §6.7: browsers cannot fragment,
 * and API Gateway drops larger frames).
 * @throws TypeError when a single ciphertext cannot fit a frame: callers check sizes first.
 */
export function splitSend(
  base: Omit<SendBody, 'messages'>,
  messages: readonly DeviceCiphertext[],
  maxFrameBytes: number,
  maxDevices: number,
): SendBody[] {
  const frames: SendBody[] = [];
  let current: DeviceCiphertext[] = [];
  for (const message of messages) {
    if (current.length > 0 && (current.length >= maxDevices || frameBytes(base, [...current, message]) >= maxFrameBytes)) {
      frames.push({ ...base, messages: current });
      current = [];
    }
    current.push(message);
    if (current.length === 1 && frameBytes(base, current) >= maxFrameBytes) throw new TypeError('a ciphertext does not fit in one frame');
  }
  if (current.length > 0) frames.push({ ...base, messages: current });
  return frames;
}

function frameBytes(base: Omit<SendBody, 'messages'>, messages: readonly DeviceCiphertext[]): number {
  return encoder.encode(JSON.stringify({ action: 'send', rid: RID_PLACEHOLDER, ...base, messages })).length;
}
