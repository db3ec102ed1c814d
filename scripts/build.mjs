#!/usr/bin/env node
// Builds the `hyperclay-sync` command and the reference platform's command into plain JavaScript (dist/cli,
// dist/platform) with esbuild, once: `npm ci` / `npm install` run it (prepare), and `npm run sync`, `npm run
// platform` and `npm test` run it with --if-stale, which rebuilds only when a source file is newer than the build.
// Plain JavaScript itself, so that it runs before anything else is built.

import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.build-stamp');
const SOURCES = ['cli', 'sync-engine', 'protocol', 'server-endpoints', 'package.json', 'package-lock.json'];

/** The newest modification time among the sources (ms). */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    const info = statSync(path);
    if (info.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (info.mtimeMs > newest) {
      newest = info.mtimeMs;
    }
  };
  for (const source of SOURCES) visit(join(ROOT, source));
  return newest;
}

function isStale() {
  try {
    return statSync(STAMP).mtimeMs < newestSource();
  } catch {
    return true;
  }
}

// Bundled CommonJS dependencies call require(); an ESM bundle gives them one.
const requireBanner =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: requireBanner },
  outExtension: { '.js': '.mjs' },
};

async function buildAll() {
  rmSync(join(DIST, 'cli'), { recursive: true, force: true });
  rmSync(join(DIST, 'platform'), { recursive: true, force: true });
  await Promise.all([
    // The command with every dependency inside (none is native): it loads a few files, not hundreds. Each command's
    // code is a chunk of its own, loaded when that command runs, so `--help` loads almost nothing.
    build({ ...common, entryPoints: { main: join(ROOT, 'cli/main.ts') }, outdir: join(DIST, 'cli'), splitting: true }),
    // The platform server keeps its dependencies in node_modules (better-sqlite3 is native; pg and the AWS SDK are
    // large and loaded once per server start).
    build({
      ...common,
      entryPoints: { main: join(ROOT, 'server-endpoints/reference/cli.ts') },
      outdir: join(DIST, 'platform'),
      packages: 'external',
    }),
  ]);
  mkdirSync(DIST, { recursive: true });
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}

const ifStale = process.argv.includes('--if-stale');
if (!ifStale || isStale()) {
  const started = Date.now();
  try {
    await buildAll();
  } catch (error) {
    process.stderr.write(`build: the commands did not build: ${error.message}\n`);
    process.exit(1);
  }
  if (!process.argv.includes('--quiet')) {
    process.stderr.write(`build: dist/cli and dist/platform built in ${Date.now() - started} ms\n`);
  }
}
