// Builds the desktop app into dist/: main (ESM) and preload (CommonJS) bundled with esbuild, the renderer's
// script bundled for the browser, its HTML and CSS and the icons copied. Run: npx tsx build/build-app.ts [--release]

import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { RELEASE_URL } from '../electron/core/config.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildOptions {
  /** Defaults to <repo>/dist. */
  outDir?: string;
  /** Release builds bake in HYPERCLAY_URL=https://hyperclay.com and drop source maps. */
  release?: boolean;
}

export interface BuiltApp {
  outDir: string;
  main: string;
  preload: string;
  rendererDir: string;
  iconsDir: string;
}

export async function buildApp(options: BuildOptions = {}): Promise<BuiltApp> {
  const outDir = options.outDir ?? join(ROOT, 'dist');
  const release = options.release === true;
  const app: BuiltApp = {
    outDir,
    main: join(outDir, 'electron', 'main', 'index.js'),
    preload: join(outDir, 'electron', 'preload', 'index.cjs'),
    rendererDir: join(outDir, 'renderer'),
    iconsDir: join(outDir, 'electron', 'icons'),
  };
  rmSync(join(outDir, 'electron'), { recursive: true, force: true });
  rmSync(app.rendererDir, { recursive: true, force: true });
  const common = { bundle: true, sourcemap: !release, legalComments: 'none', logLevel: 'warning' } as const;
  await Promise.all([
    // Everything but Electron itself goes into the bundle, so app.asar needs no node_modules.
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron/main/index.ts')],
      outfile: app.main,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      external: ['electron'],
      define: { __HYPERCLAY_BAKED_URL__: release ? JSON.stringify(RELEASE_URL) : 'undefined' },
      // Bundled CommonJS dependencies call require(); give the ESM bundle one.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron/preload/index.ts')],
      outfile: app.preload,
      platform: 'node',
      format: 'cjs',
      target: 'chrome140',
      external: ['electron'],
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'renderer/app.ts')],
      outfile: join(app.rendererDir, 'app.js'),
      platform: 'browser',
      format: 'iife',
      target: 'chrome120',
    }),
  ]);
  for (const file of ['index.html', 'styles.css'])
    copyFileSync(join(ROOT, 'renderer', file), join(app.rendererDir, file));
  mkdirSync(app.iconsDir, { recursive: true });
  for (const file of readdirSync(join(ROOT, 'build', 'icons'))) {
    if (file.startsWith('tray-')) copyFileSync(join(ROOT, 'build', 'icons', file), join(app.iconsDir, file));
  }
  return app;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const release = process.argv.includes('--release');
  buildApp({ release }).then(
    (built) => process.stdout.write(`built the desktop app${release ? ' (release)' : ''} into ${built.outDir}\n`),
    (error: unknown) => {
      process.stderr.write(`the desktop app did not build: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
