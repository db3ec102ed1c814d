#!/usr/bin/env node
// The installed `hyperclay-sync` command: the CLI as built to plain JavaScript at install (dist/cli, made by
// scripts/build.mjs when `npm ci` or `npm install` runs). A checkout that was never built runs the TypeScript
// through tsx instead, and says so.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/main.mjs', import.meta.url);
let run;
if (existsSync(built)) {
  ({ run } = await import(built.href));
} else {
  process.stderr.write('hyperclay-sync: not built yet (npm run build); running from the TypeScript sources.\n');
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  ({ run } = await import('../cli/main.ts'));
}
process.exit(await run(process.argv.slice(2)));
