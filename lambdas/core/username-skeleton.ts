/**
 * Reserved usernames, matched by skeleton so lookalikes of the operator's names are refused too
 * (`adm1n`, `4dmin`, `a_d_m_i_n`, `Security_Team`). A skeleton is what a name looks like, in the sense of
 * Unicode TR39 §4 (confusable detection), restricted to the ASCII the username schema allows.
 */

/**
 * Character lookalikes, after case folding. From Unicode's confusables.txt (TR39) for ASCII: 0 → o, 1 → l,
 * I (folded to i) → l, and the sequences rn → m, vv → w, cl → d; plus the digit-for-letter substitutions of
 * leetspeak, which confusables.txt leaves out because the glyphs differ but readers still take them for
 * letters: 2 → z, 3 → e, 4 → a, 5 → s, 6 → b, 7 → t, 8 → b, 9 → g.
 */
const LOOKALIKE: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'l',
  i: 'l',
  '2': 'z',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '6': 'b',
  '7': 't',
  '8': 'b',
  '9': 'g',
};
const SEQUENCES: readonly (readonly [string, string])[] = [
  ['rn', 'm'],
  ['vv', 'w'],
  ['cl', 'd'],
];

/** The skeleton of a username: case folded, `_` separators dropped, lookalikes mapped to one letter. */
export function usernameSkeleton(username: string): string {
  let skeleton = [...username.toLowerCase().replace(/_/g, '')].map((c) => LOOKALIKE[c] ?? c).join('');
  for (const [from, to] of SEQUENCES) skeleton = skeleton.split(from).join(to);
  return skeleton;
}

/** Words that pass for the operator speaking, alone or run together (`ebb_support`, `security_team`). */
const RESERVED_WORDS = [
  'admin',
  'administrator',
  'root',
  'support',
  'security',
  'ebb',
  'system',
  'moderator',
  'mod',
  'help',
  'official',
  'staff',
  'team',
  'desk',
  'service',
  'operator',
  'abuse',
  'safety',
  'trust',
];
const RESERVED_SKELETONS: ReadonlySet<string> = new Set(RESERVED_WORDS.map(usernameSkeleton));
const LONGEST = Math.max(...[...RESERVED_SKELETONS].map((s) => s.length));

/** Whether the name's skeleton is one reserved word's, or several run together; digits and case do not help. */
export function isReservedUsername(username: string): boolean {
  const skeleton = usernameSkeleton(username);
  // composed[i]: the first i characters split into reserved words.
  const composed = [true, ...Array<boolean>(skeleton.length).fill(false)];
  for (let end = 1; end <= skeleton.length; end++) {
    for (let start = Math.max(0, end - LONGEST); start < end && !composed[end]; start++) {
      composed[end] = composed[start]! && RESERVED_SKELETONS.has(skeleton.slice(start, end));
    }
  }
  return composed[skeleton.length]!;
}
