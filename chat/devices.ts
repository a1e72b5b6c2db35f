import qrcode from 'qrcode-generator';
import { printable } from '../shared/printable';
import type { DeviceInfo } from '../client-sdk/src';

/** One line of `/devices`: number, name, when it joined, and whether it is this profile or not connected yet. */
export function deviceLine(info: DeviceInfo): string {
  const name = info.name === null ? (info.device === 1 ? 'first device' : 'unnamed') : `"${printable(info.name)}"`;
  const since = `${info.device === 1 ? 'created the account' : 'linked'} ${info.linkedAt.toISOString().slice(0, 10)}`;
  const notes = [since, ...(info.current ? ['this profile'] : []), ...(info.ready ? [] : ['not connected yet'])];
  return `  device ${info.device}  ${name}  (${notes.join(', ')})`;
}

/**
 * `text` as a QR code in block characters, two modules a line: light modules are drawn, so it reads on a
 * dark terminal as dark modules on a light quiet zone.
 */
export function qrLines(text: string): string[] {
  const qr = qrcode(0, 'L');
  qr.addData(text, 'Byte');
  qr.make();
  return qr
    .createASCII(1, 2)
    .split('\n')
    .filter((line) => line !== '');
}
