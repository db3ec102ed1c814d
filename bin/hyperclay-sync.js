#!/usr/bin/env node
// The installed `hyperclay-sync` command: registers tsx (a runtime dependency) and runs the TypeScript CLI.

import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { run } = await import('../cli/main.ts');
process.exit(await run(process.argv.slice(2)));
