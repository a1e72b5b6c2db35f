/**
 * The bucket's CORS configuration, evaluated as S3 evaluates it: the first rule whose origins, method
 * and (for a preflight) requested headers all match decides; a rule may hold one `*` wildcard in an
 * origin or header pattern.
 */

export interface CorsRule {
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly ('GET' | 'PUT' | 'HEAD' | 'POST' | 'DELETE')[];
  /** @default none beyond the CORS-safelisted ones */
  readonly allowedHeaders?: readonly string[];
  /** @default none */
  readonly exposedHeaders?: readonly string[];
  /** @default unset: browsers do not cache the preflight */
  readonly maxAgeSeconds?: number;
}

/** The rule allowing `origin` to send `method` with `headers` (lower-case names), if any. */
export function matchingRule(rules: readonly CorsRule[], origin: string, method: string, headers: readonly string[] = []): CorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.allowedOrigins.some((pattern) => wildcardMatch(pattern, origin)) &&
      (rule.allowedMethods as readonly string[]).includes(method) &&
      headers.every((header) => (rule.allowedHeaders ?? []).some((pattern) => wildcardMatch(pattern.toLowerCase(), header))),
  );
}

/** The headers S3 adds to an answer for `origin` under `rule` (`preflight` adds methods, headers and max age). */
export function corsHeaders(rule: CorsRule, origin: string, preflight?: { readonly headers: readonly string[] }): Record<string, string> {
  const anyOrigin = rule.allowedOrigins.includes('*');
  const headers: Record<string, string> = {
    'access-control-allow-origin': anyOrigin ? '*' : origin,
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!anyOrigin) headers['access-control-allow-credentials'] = 'true';
  if (rule.exposedHeaders?.length) headers['access-control-expose-headers'] = rule.exposedHeaders.join(', ');
  if (preflight) {
    headers['access-control-allow-methods'] = rule.allowedMethods.join(', ');
    if (preflight.headers.length) headers['access-control-allow-headers'] = preflight.headers.join(', ');
    if (rule.maxAgeSeconds !== undefined) headers['access-control-max-age'] = String(rule.maxAgeSeconds);
  }
  return headers;
}

function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf('*');
  if (star < 0) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}
