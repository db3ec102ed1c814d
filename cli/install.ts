// Where the installed package is: its root folder (found from this file, whether it runs from the TypeScript source
// or from the build in dist/), its version, and the `hyperclay-sync` command's bin.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'hyperclay-sync';

let root: string | null = null;

/** The folder holding this package's package.json (cli/.. from the source, dist/cli/.. from the build). */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readPackage(manifest)?.name === PACKAGE_NAME) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`the ${PACKAGE_NAME} package.json was not found above ${import.meta.url}`);
    dir = parent;
  }
}

function readPackage(file: string): { name?: unknown; version?: unknown } | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return null;
  }
}

/** This client's version (package.json), as sent to the platform. */
export function clientVersion(): string {
  const version = readPackage(join(packageRoot(), 'package.json'))?.version;
  return typeof version === 'string' ? version : '0.0.0';
}

/** The installed command, which the background process of `start --detach` runs. */
export function binPath(): string {
  return join(packageRoot(), 'bin', 'hyperclay-sync.js');
}
