import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalRequest, sha256Hex, signature, stringToSign, type CredentialScope } from '../../local/s3/sigv4';

/** AWS's published SigV4 test suite (test/vectors/sigv4/README.md says which cases and from where). */
const DIR = join(__dirname, '../vectors/sigv4');
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SCOPE: CredentialScope = { date: '20150830', region: 'us-east-1', service: 'service' };
const AMZ_DATE = '20150830T123600Z';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly query: [string, string][];
  readonly headers: Map<string, string[]>;
  readonly body: string;
  readonly creq: string;
  readonly sts: string;
  readonly authz: string;
}

/** A `.req` file: request line, `Name:value` headers (the value as written, trimmed by the canonicalizer), body. */
function parseRequest(text: string): Pick<Case, 'method' | 'path' | 'query' | 'headers' | 'body'> {
  const [head, ...rest] = text.split('\n\n');
  const [requestLine, ...headerLines] = head!.split('\n');
  const [, method, target] = /^(\S+) (.+) HTTP\/1\.1$/.exec(requestLine!)!;
  const at = target!.indexOf('?');
  const path = at < 0 ? target! : target!.slice(0, at);
  const query: [string, string][] =
    at < 0
      ? []
      : target!
          .slice(at + 1)
          .split('&')
          .map((pair) => {
            const eq = pair.indexOf('=');
            return eq < 0 ? [decodeURIComponent(pair), ''] : [decodeURIComponent(pair.slice(0, eq)), decodeURIComponent(pair.slice(eq + 1))];
          });
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1)]);
  }
  return { method: method!, path, query, headers, body: rest.join('\n\n') };
}

const cases: Case[] = readdirSync(DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map(({ name }) => {
    const file = (ext: string) => readFileSync(join(DIR, name, `${name}.${ext}`), 'utf8');
    return { name, ...parseRequest(file('req')), creq: file('creq'), sts: file('sts'), authz: file('authz') };
  });

function signedHeadersOf(authz: string): string[] {
  return /SignedHeaders=([^,]+)/.exec(authz)![1]!.split(';');
}

it('reads the 22 cases kept from the suite', () => {
  expect(cases).toHaveLength(22);
});

describe.each(cases)('$name', (c) => {
  const signedHeaders = signedHeadersOf(c.authz);
  const canonical = canonicalRequest({
    method: c.method,
    path: c.path,
    query: c.query,
    headers: c.headers,
    signedHeaders,
    payloadHash: sha256Hex(c.body),
  });

  it('builds the canonical request, the string to sign and the signature AWS publishes', () => {
    expect(canonical).toBe(c.creq);
    expect(stringToSign(AMZ_DATE, SCOPE, canonical)).toBe(c.sts);
    expect(signature(SECRET, SCOPE, c.sts)).toBe(/Signature=([0-9a-f]{64})/.exec(c.authz)![1]);
  });
});
