// Packages the desktop app: builds it, then runs electron-builder with build/electron-builder.ts.
// Run: npx tsx build/package-app.ts [--release] [--mac|--win|--linux] [--dir] [--electron-dist DIR]

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, Platform } from 'electron-builder';
import { buildApp, ROOT } from './build-app.js';
import { builderConfig } from './electron-builder.js';

export interface PackageOptions {
  release: boolean;
  platform: 'mac' | 'win' | 'linux';
  /** Only the unpacked app folder (`--dir`): no dmg/nsis/AppImage/deb. */
  dirOnly: boolean;
  electronDist?: string;
  outputDir?: string;
  /** Package from a copy of the manifest and icons in this folder instead of the repository (hermetic tests). */
  projectDir?: string;
}

export async function packageApp(options: PackageOptions): Promise<string[]> {
  const projectDir = options.projectDir ?? ROOT;
  if (projectDir !== ROOT) {
    mkdirSync(join(projectDir, 'build', 'icons'), { recursive: true });
    // The bundles need no node_modules, so the copy declares no dependencies for electron-builder to collect.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(projectDir, 'package.json'),
      JSON.stringify({ ...manifest, dependencies: {}, devDependencies: {} }, null, 2),
    );
    copyFileSync(join(ROOT, 'build', 'icons', 'icon.png'), join(projectDir, 'build', 'icons', 'icon.png'));
  }
  await buildApp({ release: options.release, outDir: join(projectDir, 'dist') });
  const platform = { mac: Platform.MAC, win: Platform.WINDOWS, linux: Platform.LINUX }[options.platform];
  const config = builderConfig({
    release: options.release,
    scheme: process.env.HYPERCLAY_PROTOCOL,
    electronDist: options.electronDist,
    outputDir: options.outputDir,
  });
  return build({
    projectDir,
    targets: platform.createTarget(options.dirOnly ? ['dir'] : undefined),
    config,
    publish: 'never',
  });
}

function hostPlatform(): PackageOptions['platform'] {
  return process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : 'linux';
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const distIndex = args.indexOf('--electron-dist');
  const options: PackageOptions = {
    release: args.includes('--release'),
    platform: args.includes('--mac')
      ? 'mac'
      : args.includes('--win')
        ? 'win'
        : args.includes('--linux')
          ? 'linux'
          : hostPlatform(),
    dirOnly: args.includes('--dir'),
    electronDist: distIndex >= 0 ? args[distIndex + 1] : undefined,
  };
  packageApp(options).then(
    (artifacts) => process.stdout.write(`packaged:\n${artifacts.join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`packaging failed: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
