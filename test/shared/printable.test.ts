import fc from 'fast-check';
import { printable, printableJson, printableLines, truncate } from '../../shared/printable';

/** Anything a terminal may act on: C0 and DEL, C1, line/paragraph separators, bidi overrides and isolates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe("printable text for an operator's terminal", () => {
  test.each([
    ['\u001b[2J', '\\x1b[2J'],
    ['a\rb\tc\nd', 'a\\rb\\tc\\nd'],
    ['\u009b31m', '\\x9b31m'],
    ['\u007f\u0000', '\\x7f\\x00'],
    ['abc\u202etxt.exe', 'abc\\u202etxt.exe'],
    ['\u2066x\u2069\u2028', '\\u2066x\\u2069\\u2028'],
    ['héllo 👋 \\x1b', 'héllo 👋 \\x1b'],
  ])('GIVEN %j THEN it prints %s', (text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  test('GIVEN any string THEN no unsafe character survives, on one line, in lines or in JSON, and the JSON parses back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(printable(text)).not.toMatch(UNSAFE);
        for (const line of printableLines(text)) expect(line).not.toMatch(UNSAFE);
        expect(printableLines(text)).toHaveLength(text.split('\n').length);
        const json = printableJson({ text });
        expect(json.replace(/\n/g, '')).not.toMatch(UNSAFE);
        expect(JSON.parse(json)).toEqual({ text });
      }),
    );
  });

  test('GIVEN text longer than the limit THEN it is cut on a code point with an ellipsis', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(truncate('👋👋👋', 2)).toBe('👋…');
  });
});
