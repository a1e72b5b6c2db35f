/**
 * Characters a terminal may act on rather than show: C0 controls and DEL (ESC starts every escape
 * sequence), C1 controls (U+009B is a one-byte CSI to some terminals), line and paragraph separators, and
 * the bidirectional overrides and isolates that reorder what is shown (CVE-2021-42574).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
/** What JSON.stringify leaves raw in strings (it escapes C0 itself; outside strings it writes only newlines and spaces). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` safe to print on one line: each unsafe character is shown as its escape (`\x1b`, `\n`, `\u202e`),
 * so user-supplied text (a report's reason or content) cannot move the cursor, recolour, retitle or
 * reorder the operator's terminal.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** As `printable`, but newlines are kept as line breaks: for showing a message's text as written. */
export function printableLines(text: string): string[] {
  return text.replace(UNSAFE_EXCEPT_NEWLINE, escape).split('\n');
}

/**
 * `value` as indented JSON with every unsafe character in its strings escaped as `\uXXXX`: JSON.stringify
 * escapes C0 controls but leaves DEL, C1, separators and bidi controls raw. The result parses to `value`.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** At most `max` characters (code points, so no surrogate pair is split), with `…` when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}
