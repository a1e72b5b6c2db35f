import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * A WebSocket upgrade written byte for byte, so the request target reaches the server exactly as generated
 * (odd percent-encodings, duplicates, `__proto__` keys), which a WebSocket client would normalise.
 * Resolves with the HTTP status of the answer, 0 when the server hung up without one. An accepted upgrade
 * (101) is closed right away. `host` is the `Host` header sent, by default the URL's.
 */
export function rawUpgrade(url: string, target: string, timeoutMs = 5000, host?: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('connect', () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: ${host ?? `${hostname}:${port}`}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (match) done(Number(match[1]));
    });
    socket.on('error', () => done(0));
    socket.on('close', () => done(0));
  });
}
