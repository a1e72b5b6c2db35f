import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The URL the README's quickstart connects to: `npm start`'s default. */
export const QUICKSTART_URL = 'ws://127.0.0.1:8787';

/** The README's quickstart block, exactly as a newcomer pastes it. */
export function readmeQuickstart(): string {
  const readme = readFileSync(join(resolve(__dirname, '../..'), 'README.md'), 'utf8');
  const match = /```ts quickstart\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no ```ts quickstart block');
  return match[1]!;
}

/** What the quickstart prints when bob got alice's message. */
export const QUICKSTART_OUTPUT = /^bob got "hello, bob" from [A-Za-z0-9_-]{32}$/;
