import WebSocket from 'ws';

/** A bare WebSocket speaking ebb frames, for tests that must see exactly what the server answers. */
export class RawSocket {
  readonly pushes: Record<string, unknown>[] = [];
  readonly replies: Record<string, unknown>[] = [];
  private waiters: { match: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
  private nextRid = 0;
  closed?: { code: number; reason: string };

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      (frame.type === 'result' || frame.type === 'error' ? this.replies : this.pushes).push(frame);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  /** Opens; rejects with the HTTP status when the upgrade is refused. */
  static open(url: string): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(new RawSocket(ws)));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  /** Sends a frame (a `rid` is added when missing) and waits for its reply. */
  async request(frame: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    const rid = (frame.rid as string | undefined) ?? `r${++this.nextRid}`;
    const reply = this.next((f) => (f.type === 'result' || f.type === 'error') && f.rid === rid, timeoutMs);
    this.ws.send(JSON.stringify({ ...frame, rid }));
    return reply;
  }

  /** Sends raw text and waits for the next reply, whatever its rid. */
  async sendRaw(text: string | Buffer): Promise<Record<string, unknown>> {
    const reply = this.next((f) => f.type === 'result' || f.type === 'error');
    this.ws.send(text);
    return reply;
  }

  next(match: (f: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  nextPush(timeoutMs?: number): Promise<Record<string, unknown>> {
    const seen = this.pushes.length;
    if (seen > 0) return Promise.resolve(this.pushes.shift()!);
    return this.next((f) => f.type === 'message' || f.type === 'notice' || f.type === 'keys.low' || f.type === 'link', timeoutMs).then((f) => {
      this.pushes.splice(this.pushes.indexOf(f), 1);
      return f;
    });
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.ws.once('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ code, reason: reason.toString() });
      });
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
