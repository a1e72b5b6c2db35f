import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Code cites docs/architecture.md as `ARCH §n` or `ARCH §n.m` (a list continues `, §m`). A citation of a
 * section the document has no heading for points a reader nowhere, and so does a citation of the design
 * contract that is not in the repository (`DESIGN §n`): both fail here, as does a file the architecture doc or
 * CONTRIBUTING.md names that no longer exists.
 */

const ROOT = join(__dirname, '..', '..');
const DOC = 'docs/architecture.md';
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'cdk.out', 'dist', '.tmp']);
const SCANNED = /\.(ts|tsx|js|mjs|cjs|md|html)$/;

/** The section numbers of a document whose headings read `## 6. Title` or `### 6.3 Title`. */
function headingNumbers(markdown: string): Set<string> {
  const numbers = new Set<string>();
  for (const match of markdown.matchAll(/^#{2,6} (\d+(?:\.\d+)*)\.? /gm)) numbers.add(match[1]!);
  return numbers;
}

/** Every section number cited as `ARCH §n`, including the rest of a list such as `ARCH §4, §6.1`. */
function citations(text: string): string[] {
  const cited: string[] = [];
  for (const match of text.matchAll(/ARCH §\d+(?:\.\d+)*(?:,\s*§\d+(?:\.\d+)*)*/g)) {
    for (const number of match[0].matchAll(/§(\d+(?:\.\d+)*)/g)) cited.push(number[1]!);
  }
  return cited;
}

/** Repository paths the documents name in backticks (placeholders such as `<action>` left out). */
function namedPaths(markdown: string): string[] {
  const paths = /`((?:protocol|lambdas|infra|client-sdk|local|admin|bin|chat|web|shared|bench|test|docs)\/[^`\s<>*]+)`/g;
  return [...markdown.matchAll(paths)].map((match) => match[1]!);
}

/** `§n` references inside the document itself, which must resolve as well. */
function internalReferences(markdown: string): string[] {
  return [...markdown.matchAll(/§(\d+(?:\.\d+)*)/g)].map((match) => match[1]!);
}

interface Citation {
  readonly file: string;
  readonly section: string;
}

/** Citations in `files` (path → text) of sections missing from `doc`, and leftover `DESIGN §` citations. */
function danglingCitations(doc: string, files: ReadonlyMap<string, string>): { missing: Citation[]; design: string[] } {
  const sections = headingNumbers(doc);
  const missing: Citation[] = [];
  const design: string[] = [];
  for (const [file, text] of files) {
    for (const section of citations(text)) if (!sections.has(section)) missing.push({ file, section });
    if (/DESIGN §\d/.test(text)) design.push(file);
  }
  return { missing, design };
}

function sourceFiles(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) sourceFiles(join(dir, entry.name), found);
    } else if (SCANNED.test(entry.name)) {
      const path = join(dir, entry.name);
      const file = relative(ROOT, path);
      // This file holds the citation form in its own examples.
      if (file !== relative(ROOT, __filename)) found.set(file, readFileSync(path, 'utf8'));
    }
  }
  return found;
}

describe('GIVEN the citation checker', () => {
  const doc = ['# t', '## 1. One', '### 1.2 Sub', '## 12. Twelve', '#### 12.3.4 Deep'].join('\n');

  test('THEN it reads numbered headings of every level, with or without a trailing dot', () => {
    expect([...headingNumbers(doc)].sort()).toEqual(['1', '1.2', '12', '12.3.4']);
  });

  test('THEN it reads single citations and lists of them', () => {
    expect(citations('see (ARCH §4, §6.1) and ARCH §12.3; not RFC 2104 §2')).toEqual(['4', '6.1', '12.3']);
  });

  test('WHEN a file cites a section the document lacks THEN that citation is reported', () => {
    const files = new Map([
      ['a.ts', '/** (ARCH §1.2) */'],
      ['b.ts', '// ARCH §12, §1.3'],
      ['c.ts', '// DESIGN §4'],
    ]);
    expect(danglingCitations(doc, files)).toEqual({ missing: [{ file: 'b.ts', section: '1.3' }], design: ['c.ts'] });
  });
});

describe(`GIVEN ${DOC} and the repository's sources`, () => {
  const doc = readFileSync(join(ROOT, DOC), 'utf8');
  const files = sourceFiles(ROOT);

  test('THEN every ARCH citation names a section the document has, and none cites DESIGN', () => {
    const { missing, design } = danglingCitations(doc, files);
    expect(missing).toEqual([]);
    expect(design).toEqual([]);
  });

  test('THEN the code does cite the document', () => {
    const cited = [...files.values()].flatMap(citations);
    expect(cited.length).toBeGreaterThanOrEqual(50);
  });

  test('THEN every § reference inside the document resolves to one of its headings', () => {
    const sections = headingNumbers(doc);
    expect(internalReferences(doc).filter((section) => !sections.has(section))).toEqual([]);
  });

  test('THEN section numbers are unique and each subsection sits under its own section', () => {
    const numbers = [...doc.matchAll(/^#{2,6} (\d+(?:\.\d+)*)\.? /gm)].map((match) => match[1]!);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const number of numbers.filter((n) => n.includes('.'))) {
      expect(numbers).toContain(number.slice(0, number.lastIndexOf('.')));
    }
  });

  test('THEN every file or directory the architecture doc and CONTRIBUTING.md name exists', () => {
    const named = [doc, readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8')].flatMap(namedPaths);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });
});
