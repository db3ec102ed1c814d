// Before any test: the commands built to plain JavaScript (dist/) are as new as the sources, since the CLI and
// platform tests run the built commands, as users do.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--if-stale'], { stdio: 'inherit' });
}
