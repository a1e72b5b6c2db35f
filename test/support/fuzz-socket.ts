import WebSocket from 'ws';

/**
 * A bare authenticated WebSocket for fuzzing: keeps every server frame as raw text (a reply that is not JSON
 * must fail a property, not crash the listener), and separates replies (`result`/`error`) from pushes.
 */
export class FuzzSocket {
  /** Raw text of every reply, in arrival order. */
  readonly replies: string[] = [];
  pushes = 0;
  closed?: { code: number; reason: string };
  private waiter?: { from: number; resolve: (text: string) => void };

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = data.toString();
      let type: unknown;
      try {
        type = (JSON.parse(text) as { type?: unknown })?.type;
      } catch {
        type = undefined;
      }
      if (type === 'message' || type === 'notice' || type === 'keys.low') {
        this.pushes++;
        return;
      }
      this.replies.push(text);
      if (this.waiter && this.replies.length > this.waiter.from) {
        const { resolve, from } = this.waiter;
        this.waiter = undefined;
        resolve(this.replies[from]!);
      }
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static open(url: string): Promise<FuzzSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new FuzzSocket(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Sends one frame and resolves with the raw text of the next reply (rejects after `timeoutMs`). */
  send(text: string, binary = false, timeoutMs = 5000): Promise<string> {
    const from = this.replies.length;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no reply within ${timeoutMs} ms${this.closed ? ` (closed ${this.closed.code})` : ''}`));
      }, timeoutMs);
      this.waiter = {
        from,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      };
      this.ws.send(binary ? Buffer.from(text, 'utf8') : text, { binary });
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
