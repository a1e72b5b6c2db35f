#!/usr/bin/env node
'use strict';
// `npx ebb chat …` after `npm ci`, with no build step: the CLI is TypeScript, compiled on load by tsx.
let register;
try {
  ({ register } = require('tsx/cjs/api'));
} catch {
  process.stderr.write('ebb: tsx is missing; install the dev dependencies with `npm ci`\n');
  process.exit(1);
}
register();
require('../chat/cli.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
