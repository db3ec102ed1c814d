// Packages the desktop app: builds it, then runs electron-builder with build/electron-builder.ts.
// Run: npx tsx build/package-app.ts [--release] [--mac|--win|--linux] [--dir] [--electron-dist DIR]

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
}

export async function packageApp(options: PackageOptions): Promise<string[]> {
  await buildApp({ release: options.release });
  const platform = { mac: Platform.MAC, win: Platform.WINDOWS, linux: Platform.LINUX }[options.platform];
  const config = builderConfig({
    release: options.release,
    scheme: process.env.HYPERCLAY_PROTOCOL,
    electronDist: options.electronDist,
    outputDir: options.outputDir,
  });
  return build({
    projectDir: ROOT,
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
