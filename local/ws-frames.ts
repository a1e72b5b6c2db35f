import type { WebSocket } from 'ws';
import { Limits } from '../protocol';

/** The close codes API Gateway uses. */
export const APIGW_CLOSE = { normal: 1000, goingAway: 1001, tooBig: 1009 } as const;

/** Outbound messages over 32 KB go out as several frames, as API Gateway sends them. */
export function sendFramed(socket: WebSocket, text: string): void {
  const data = Buffer.from(text, 'utf8');
  if (data.length <= Limits.maxFrameBytes) {
    socket.send(data, { binary: false });
    return;
  }
  for (let offset = 0; offset < data.length; offset += Limits.maxFrameBytes) {
    const chunk = data.subarray(offset, offset + Limits.maxFrameBytes);
    socket.send(chunk, { binary: false, fin: offset + Limits.maxFrameBytes >= data.length });
  }
}

interface FrameReceiver {
  _payloadLength: number;
  _opcode: number;
  haveLength(cb: (error?: Error) => void): void;
  createError(ctor: typeof RangeError, message: string, prefix: boolean, status: number, code: string): Error;
}

/** API Gateway closes with 1009 on a single frame over 32 KB; ws itself only limits whole messages. */
export function limitFrameSize(socket: WebSocket, maxFrameBytes: number): void {
  const receiver = (socket as unknown as { _receiver?: FrameReceiver })._receiver;
  if (!receiver) throw new Error('ws internals changed: cannot enforce the frame size limit');
  const original = receiver.haveLength;
  receiver.haveLength = function (this: FrameReceiver, cb) {
    if (this._opcode < 0x08 && this._payloadLength > maxFrameBytes) {
      cb(this.createError(RangeError, 'Frame size exceeded', false, APIGW_CLOSE.tooBig, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'));
      return;
    }
    original.call(this, cb);
  };
}
