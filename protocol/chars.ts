import * as v from 'valibot';

/**
 * String lengths as the protocol counts them: in Unicode code points, so a character outside the BMP (two UTF-16
 * units) counts once — 64 emoji are a valid 64-character `rid`. Valibot's `minLength`/`maxLength`/`length`
 * count UTF-16 units, so strings use these instead (arrays keep valibot's own).
 */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point; a lone surrogate counts as one.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** A string of at least `n` code points. */
export function minChars(n: number) {
  return v.check<string, string>((s) => s.length >= n * 2 || codePointLength(s) >= n, `must have at least ${n} characters`);
}

/** A string of at most `n` code points; a string of at most `n` UTF-16 units needs no counting. */
export function maxChars(n: number) {
  return v.check<string, string>((s) => s.length <= n || codePointLength(s) <= n, `must have at most ${n} characters`);
}

/** A string of exactly `n` code points. */
export function chars(n: number) {
  return v.check<string, (issue: v.CheckIssue<string>) => string>(
    (s) => codePointLength(s) === n,
    (issue) => `must have ${codePointLength(issue.input) < n ? 'at least' : 'at most'} ${n} characters`,
  );
}
