import type { NodeHttp } from '../load-module';

/**
 * A PUT of `body` (exactly `length` bytes) to `url` with Node's own HTTP client, piped with backpressure, so an
 * upload holds a few chunks at a time. Resolves with the response's status; rejects on a network failure.
 */
export function nodePut(
  node: NodeHttp,
  url: string,
  headers: Readonly<Record<string, string>>,
  length: number,
  body: ReadableStream<Uint8Array>,
): Promise<number> {
  const client = new URL(url).protocol === 'https:' ? node.https : node.http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(url, { method: 'PUT', headers: { ...headers, 'content-length': String(length) } });
    request.on('response', (response) => {
      // The body of an answer (an S3 error document) is not needed: the status says what to do.
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    node.stream.pipeline(node.stream.Readable.fromWeb(body as Parameters<NodeHttp['stream']['Readable']['fromWeb']>[0]), request, (err) => {
      if (err) reject(err);
    });
  });
}
