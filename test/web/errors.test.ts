import { EbbError } from '../../client-sdk/src';
import { ErrorCodes } from '../../protocol/errors';
import { explain, explainCode, PlainError, SendWording } from '../../web/errors';

/** What the web chat says when something fails: a sentence for every code, never the code itself. */

it.each(ErrorCodes)('%s reads as a sentence without the code', (code) => {
  const sentence = explain(new EbbError(code, 'server wording'));
  expect(sentence).toMatch(/^[A-Z].*\.$/);
  expect(sentence).not.toContain(code);
  expect(sentence).not.toContain('server wording');
  expect(explainCode(code)).toBe(sentence);
});

it('an unreachable service, a plain error and anything else', () => {
  expect(explain(new EbbError('INTERNAL', 'connection refused', { reason: 'unreachable' }))).toBe(
    'The service cannot be reached. Check your connection; the page keeps trying.',
  );
  expect(explain(new PlainError('That is your own user id.'))).toBe('That is your own user id.');
  expect(explain(new TypeError('x is undefined'))).toBe(explain(new EbbError('INTERNAL', 'x')));
  expect(explainCode('toString')).toBe(explainCode('INTERNAL'));
  expect(explainCode('NOT_FOUND', SendWording)).toBe('They have no account on this service any more.');
});
