import type { NodeHttp } from '../load-module';

/**
 * Sealed bytes an upload may hold beyond what the socket has taken: the next chunks are sealed while the
 * socket and the bucket take the ones before (bounded, so memory stays a few chunks whatever the size).
 */
const UPLOAD_AHEAD_BYTES = 4 * 64 * 1024;

/**
 * A PUT of exactly `length` bytes to `url` with Node's own HTTP client, taking each piece from `next` (null
 * once the body is complete) and writing it straight to the request: sealing runs ahead of the socket by up
 * to UPLOAD_AHEAD_BYTES, then waits for it to drain. Resolves with the response's status (the bucket may
 * answer before the body is complete, e.g. 412: then nothing more is sealed); rejects on a network failure.
 */
export function nodePut(
  node: NodeHttp,
  url: string,
  headers: Readonly<Record<string, string>>,
  length: number,
  next: () => Promise<Uint8Array | null>,
): Promise<number> {
  const client = new URL(url).protocol === 'https:' ? node.https : node.http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(url, { method: 'PUT', headers: { ...headers, 'content-length': String(length) } });
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      // The body of an answer (an S3 error document) is not needed: the status says what to do.
      response.resume();
      response.on('end', () => {
        resolve(response.statusCode ?? 0);
        // An answer before the whole body (a refusal): the socket cannot carry another request.
        if (!request.writableEnded) request.destroy();
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    // Resolves once the socket took what was written, or the request is over (answered early, or failed).
    const drained = () =>
      new Promise<void>((done) => {
        const settle = () => {
          request.off('drain', settle);
          request.off('close', settle);
          done();
        };
        request.on('drain', settle);
        request.on('close', settle);
      });
    const write = async () => {
      for (;;) {
        if (answered || request.destroyed) return;
        const piece = await next();
        if (!piece) break;
        if (!request.write(piece) && request.writableLength >= UPLOAD_AHEAD_BYTES) await drained();
      }
      if (!answered && !request.destroyed) request.end();
    };
    write().catch((err: unknown) => {
      request.destroy(err instanceof Error ? err : new Error('the request body failed'));
      reject(err);
    });
  });
}
