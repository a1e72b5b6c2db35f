import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors';

/**
 * Reading an S3 request: path-style bucket and key, query and headers as S3 reads them, and the small
 * request bodies and header grammars the endpoint's operations take. Each malformed input is the S3Error
 * S3 answers for it.
 */

const MAX_TAGS = 10;

/** Decoded query parameters in order; a malformed escape is S3's `InvalidURI`. */
export function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const [name, value] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      return [decode(name), decode(value)];
    });
}

export function parsePath(raw: string): { bucket: string; key: string } {
  const at = raw.indexOf('/', 1);
  return at < 0 ? { bucket: decode(raw.slice(1)), key: '' } : { bucket: decode(raw.slice(1, at)), key: decode(raw.slice(at + 1)) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** Every value of each header by lower-case name, from the raw list (Node joins repeats in `headers`). */
export function headerValues(raw: readonly string[]): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), raw[i + 1]!]);
  }
  return headers;
}

/** Headers as S3 reads them: a presigned URL's `x-amz-*` parameters count as the headers of the same name. */
export function effectiveHeaders(
  headers: ReadonlyMap<string, readonly string[]>,
  query: readonly (readonly [string, string])[],
): Map<string, string> {
  const effective = new Map([...headers].map(([name, values]) => [name, values.join(',')]));
  for (const [name, value] of query) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-amz-') && !name.startsWith('X-Amz-')) effective.set(lower, value);
  }
  return effective;
}

/** `x-amz-tagging`: a URL-encoded query of at most 10 tags, keys ≤ 128 and values ≤ 256 characters. */
export function parseTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (tags.has(key)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key', { TagKey: key });
    if (!key || key.length > 128) throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if (value.length > 256) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    tags.set(key, value);
  }
  if (tags.size > MAX_TAGS) throw new S3Error('InvalidTag', 'Object tags cannot be greater than 10');
  return tags;
}

/** One `bytes=` range (S3 serves only the first of several); undefined for none or a malformed header. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.split(',')[0]!.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new S3Error('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: header!, ActualObjectSize: String(size) });
  }
  return { start, end };
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The keys of a DeleteObjects body. Its schema is two elements (`<Object><Key>` and `<Quiet>`), so they
 * are read with patterns rather than a general XML parser, which no ebb dependency provides.
 */
export function parseDelete(xml: string): { keys: string[]; quiet: boolean } {
  const malformed = () => new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  if (!/^\s*(<\?xml[^>]*\?>)?\s*<Delete[\s>][\s\S]*<\/Delete>\s*$/.test(xml)) throw malformed();
  const keys = [...xml.matchAll(/<Object>\s*<Key>([^<]*)<\/Key>[\s\S]*?<\/Object>/g)].map((m) => unescapeXml(m[1]!));
  if (keys.length === 0 || keys.length > 1000) throw malformed();
  return { keys, quiet: /<Quiet>\s*true\s*<\/Quiet>/.test(xml) };
}

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity]!;
  });
}
