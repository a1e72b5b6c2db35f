import { corsHeaders, matchingRule, type CorsRule } from '../../local/s3/cors';

/** CORS rules as S3 evaluates them: the first rule matching origin, method and every requested header. */

const app: CorsRule = {
  allowedOrigins: ['https://*.example.org'],
  allowedMethods: ['GET', 'PUT'],
  allowedHeaders: ['content-*'],
  exposedHeaders: ['ETag'],
  maxAgeSeconds: 60,
};
const anyone: CorsRule = { allowedOrigins: ['*'], allowedMethods: ['GET'] };

it.each([
  ['https://chat.example.org', 'PUT', ['content-type'], app],
  ['https://chat.example.org', 'PUT', ['x-amz-tagging'], undefined],
  ['https://chat.example.org', 'DELETE', [], undefined],
  ['https://example.org.evil.test', 'GET', [], anyone],
  ['https://example.org.evil.test', 'PUT', [], undefined],
  ['http://chat.example.org', 'PUT', [], undefined],
])('%s %s with %j → the rule it names', (origin, method, headers, expected) => {
  expect(matchingRule([app, anyone], origin, method, headers)).toBe(expected);
});

it('answers an allowed origin by name, with credentials, and a wildcard rule with * and without', () => {
  expect(corsHeaders(app, 'https://chat.example.org', { headers: ['content-type'] })).toEqual({
    'access-control-allow-origin': 'https://chat.example.org',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-allow-headers': 'content-type',
    'access-control-expose-headers': 'ETag',
    'access-control-max-age': '60',
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  });
  const open = corsHeaders(anyone, 'https://elsewhere.test');
  expect(open['access-control-allow-origin']).toBe('*');
  expect(open['access-control-allow-credentials']).toBeUndefined();
});
