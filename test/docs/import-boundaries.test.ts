import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';

/**
 * The arrows of docs/architecture.md §2.1 that a stray import would break unnoticed: the chat clients share
 * no code with the operator tools; the SDK, which apps embed and browsers bundle, imports only itself and
 * protocol/, and a Node-only module only where it already loads one lazily; protocol/ and shared/ import
 * nothing else of ebb.
 */

const ROOT = join(__dirname, '..', '..');

/** Where each checked directory may import from, as repository path prefixes. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'chat/': ['chat/', 'client-sdk/src/', 'protocol/', 'shared/'],
  'web/': ['web/', 'client-sdk/src/', 'protocol/', 'shared/'],
  'client-sdk/src/': ['client-sdk/src/', 'protocol/'],
  'protocol/': ['protocol/'],
  'shared/': ['shared/'],
};

/** Packages the SDK and protocol/ may use anywhere: each runs in browsers as well as Node. */
const PORTABLE_PACKAGES = new Set(['tweetnacl', 'valibot', '@noble/hashes']);

/** The only Node-only modules the SDK loads, each lazily from one file (test/sdk/bundle.test.ts checks how). */
const NODE_ONLY_IN_SDK: Readonly<Record<string, readonly string[]>> = {
  // The one module that loads Node-only code; the browser build swaps in load-module.browser.ts.
  'client-sdk/src/load-module.ts': ['node:fs/promises', 'node:path', 'node:http', 'node:https', 'node:stream', 'ws'],
};

/** Module specifiers of `source`: static and dynamic imports, re-exports, `require` and `typeof import()`. */
function specifiers(source: string): string[] {
  const found = source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm);
  return [...found].map((match) => match[1]!);
}

/** `a/b` of `a/b/c` and `@scope/a` of `@scope/a/b`: the package a bare specifier names. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const isBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(packageOf(specifier));

/** Imports in `files` (repository path → source) that cross a boundary above, as `file → specifier`. */
function boundaryViolations(files: ReadonlyMap<string, string>): string[] {
  const violations: string[] = [];
  for (const [file, source] of files) {
    const area = Object.keys(MAY_IMPORT).find((prefix) => file.startsWith(prefix));
    if (!area) continue;
    for (const specifier of specifiers(source)) {
      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(file), specifier));
        if (!MAY_IMPORT[area]!.some((prefix) => `${target}/`.startsWith(prefix))) violations.push(`${file} → ${specifier}`);
      } else if (area === 'client-sdk/src/' || area === 'protocol/') {
        const allowedHere = NODE_ONLY_IN_SDK[file]?.includes(specifier) ?? false;
        if (!allowedHere && (isBuiltin(specifier) || !PORTABLE_PACKAGES.has(packageOf(specifier)))) violations.push(`${file} → ${specifier}`);
      } else if (area === 'shared/') {
        violations.push(`${file} → ${specifier}`);
      }
    }
  }
  return violations;
}

function sources(dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) sources(path, found);
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name)) found.set(path, readFileSync(join(ROOT, path), 'utf8'));
  }
  return found;
}

describe('GIVEN the import boundary checker', () => {
  test('THEN it reads every form of import', () => {
    const source = [
      "import a from 'a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "import './d';",
      "const e = await import('e');",
      "const f = require('node:f');",
      "type G = typeof import('g');",
    ].join('\n');
    expect(specifiers(source)).toEqual(['a', '../b', './c', './d', 'e', 'node:f', 'g']);
  });

  test('WHEN chat/ or web/ imports from admin/ THEN it is a violation', () => {
    const files = new Map([
      ['chat/format.ts', "import { printable } from '../admin/printable';"],
      ['web/render.ts', "import { relativeTime } from '../admin/relative-time';"],
      ['chat/ok.ts', "import { printable } from '../shared/printable';\nimport { EbbClient } from '../client-sdk/src';"],
    ]);
    expect(boundaryViolations(files)).toEqual(['chat/format.ts → ../admin/printable', 'web/render.ts → ../admin/relative-time']);
  });

  test('WHEN the SDK imports server code, operator code or a new Node-only module THEN it is a violation', () => {
    const files = new Map([
      ['client-sdk/src/a.ts', "import type { Ports } from '../../lambdas/core/ports';"],
      ['client-sdk/src/b/c.ts', "import { x } from '../../../local/gateway';\nimport { y } from '../../../admin/cli';"],
      ['client-sdk/src/d.ts', "import { randomBytes } from 'node:crypto';\nimport { readFile } from 'fs';\nimport { WebSocket } from 'ws';"],
      ['client-sdk/src/load-module.ts', "const fs = await import('node:fs/promises');\nimport nacl from 'tweetnacl';"],
      ['client-sdk/src/e.ts', "import { Limits } from '../../protocol/limits';\nimport { hmac } from '@noble/hashes/hmac';"],
    ]);
    expect(boundaryViolations(files)).toEqual([
      'client-sdk/src/a.ts → ../../lambdas/core/ports',
      'client-sdk/src/b/c.ts → ../../../local/gateway',
      'client-sdk/src/b/c.ts → ../../../admin/cli',
      'client-sdk/src/d.ts → node:crypto',
      'client-sdk/src/d.ts → fs',
      'client-sdk/src/d.ts → ws',
    ]);
  });

  test('WHEN protocol/ or shared/ imports anything else of ebb THEN it is a violation', () => {
    const files = new Map([
      ['protocol/a.ts', "import { x } from '../client-sdk/src';\nimport * as v from 'valibot';"],
      ['shared/b.ts', "import { y } from '../admin/cli';\nimport { z } from './c';\nimport { Command } from 'commander';"],
    ]);
    expect(boundaryViolations(files)).toEqual(['protocol/a.ts → ../client-sdk/src', 'shared/b.ts → ../admin/cli', 'shared/b.ts → commander']);
  });
});

describe('GIVEN the repository', () => {
  test('THEN chat/, web/, client-sdk/src/, protocol/ and shared/ import only across the arrows they may', () => {
    const files = new Map<string, string>();
    for (const dir of ['chat', 'web', 'client-sdk/src', 'protocol', 'shared']) sources(dir, files);
    expect(files.size).toBeGreaterThan(50);
    expect(boundaryViolations(files)).toEqual([]);
  });
});
