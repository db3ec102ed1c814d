// Every Electron, preload, renderer and build file typechecks against electron 41's own types (electron.d.ts).

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../build/build-app.js';

const run = promisify(execFile);

describe('typecheck', () => {
  it('electron/, renderer/ and build/ compile with no errors against the installed electron types', async () => {
    const electron = JSON.parse(readFileSync(join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as {
      version: string;
    };
    expect(electron.version).toBe('41.7.1');
    const result = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'electron/tsconfig.json', '--listFilesOnly'], {
      cwd: ROOT,
    });
    const files = result.stdout.split('\n');
    expect(files.some((f) => f.endsWith('node_modules/electron/electron.d.ts'))).toBe(true);
    expect(files.some((f) => f.endsWith('electron/main/index.ts'))).toBe(true);
    expect(files.some((f) => f.endsWith('electron/preload/index.ts'))).toBe(true);
    const check = await run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'electron/tsconfig.json'], { cwd: ROOT }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(check).toBe('');
  }, 60_000);
});
