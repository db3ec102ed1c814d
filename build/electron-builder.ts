// The electron-builder configuration: dmg (macOS), nsis (Windows), AppImage and deb (Linux); fuses for release.

import type { Configuration } from 'electron-builder';
import { DEFAULT_SCHEME } from '../electron/core/config.js';

export const ELECTRON_VERSION = '41.7.1';
export const APP_ID = 'com.hyperclay.sync';
export const PRODUCT_NAME = 'Hyperclay Sync';

export interface BuilderOptions {
  /** Release builds turn the fuses on (and were built with the production URL baked in). */
  release: boolean;
  /** The deep-link scheme declared to the OS (HYPERCLAY_PROTOCOL); default `hyperclay`. */
  scheme?: string;
  /** A local Electron folder or zip folder instead of downloading it (offline packaging). */
  electronDist?: string;
  /** Where packages go; default `out/`. */
  outputDir?: string;
}

export function builderConfig(options: BuilderOptions): Configuration {
  const scheme = options.scheme ?? DEFAULT_SCHEME;
  const base: Configuration = {
    appId: APP_ID,
    productName: PRODUCT_NAME,
    executableName: 'hyperclay-sync',
    copyright: 'Copyright © Hyperclay',
    electronVersion: ELECTRON_VERSION,
    directories: { output: options.outputDir ?? 'out', buildResources: 'build' },
    // Main, preload and renderer are self-contained bundles (build/build-app.ts): no node_modules in the package,
    // so neither the server's native modules nor any devDependency can end up in it.
    files: ['package.json', 'dist/electron/**/*', 'dist/renderer/**/*', '!**/*.map', '!node_modules/**/*'],
    extraMetadata: {
      main: 'dist/electron/main/index.js',
      author: { name: 'Hyperclay', email: 'support@hyperclay.com' },
    },
    asar: true,
    npmRebuild: false,
    nodeGypRebuild: false,
    icon: 'build/icons/icon.png',
    protocols: [{ name: 'Hyperclay sign-in', schemes: [scheme] }],
    mac: {
      target: ['dmg'],
      category: 'public.app-category.productivity',
      // A menu-bar app: no dock icon. CFBundleURLTypes comes from `protocols` above.
      extendInfo: { LSUIElement: true },
    },
    dmg: { title: PRODUCT_NAME },
    win: { target: ['nsis'] },
    // The scheme is registered at run time (app.setAsDefaultProtocolClient), for the installing user.
    nsis: { oneClick: true, perMachine: false },
    linux: {
      target: ['AppImage', 'deb'],
      category: 'Utility',
      maintainer: 'Hyperclay <support@hyperclay.com>',
      mimeTypes: [`x-scheme-handler/${scheme}`],
      desktop: { entry: { MimeType: `x-scheme-handler/${scheme};`, StartupWMClass: 'hyperclay-sync' } },
    },
    deb: { priority: 'optional' },
    publish: null,
  };
  const fuses: Configuration['electronFuses'] = {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  };
  return {
    ...base,
    ...(options.electronDist === undefined ? {} : { electronDist: options.electronDist }),
    ...(options.release ? { electronFuses: fuses } : {}),
  };
}
