#!/usr/bin/env node
'use strict';
// `npx ebb-admin …` after `npm ci`, with no build step: the CLI is TypeScript, compiled on load by tsx.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let register;
try {
  ({ register } = require('tsx/cjs/api'));
} catch {
  process.stderr.write('ebb-admin: tsx is missing; install the dev dependencies with `npm ci`\n');
  process.exit(1);
}
register();
require('../admin/cli.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
