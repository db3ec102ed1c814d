// Packaging: the electron-builder config validated offline, the release bundle, and a `--linux dir` package built
// against a stand-in Electron (the real one cannot be downloaded here) whose app.asar is then read back.

import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractFile, listPackage } from '@electron/asar';
import { getCurrentFuseWire } from '@electron/fuses';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import type { Configuration } from 'electron-builder';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../build/build-app.js';
import { builderConfig, ELECTRON_VERSION } from '../../build/electron-builder.js';
import { packageApp } from '../../build/package-app.js';

const temp = mkdtempSync(join(tmpdir(), 'hc-package-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

// The fuse sentinel electron ships in its binary, then wire version 1 and nine fuses, all in their default state.
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

function standInElectron(): string {
  const dir = join(temp, 'electron-dist');
  mkdirSync(dir, { recursive: true });
  const binary = Buffer.concat([
    Buffer.from('#!/bin/sh\necho "stand-in for electron"\n'),
    Buffer.from(SENTINEL, 'latin1'),
    Buffer.from([1, 9]),
    Buffer.from('101100110', 'latin1'),
  ]);
  writeFileSync(join(dir, 'electron'), binary);
  chmodSync(join(dir, 'electron'), 0o755);
  writeFileSync(join(dir, 'version'), ELECTRON_VERSION);
  return dir;
}

describe('electron-builder configuration', () => {
  it('the development and release configs pass electron-builder validation offline', async () => {
    await validateConfiguration(builderConfig({ release: false }), new DebugLogger(false));
    await validateConfiguration(builderConfig({ release: true, scheme: 'hyperclay-dev' }), new DebugLogger(false));
  });

  it('the validator is real: an unknown option is refused', async () => {
    const broken = { ...builderConfig({ release: true }), notAnOption: true } as Configuration;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/Invalid configuration object/);
  });

  it('declares the scheme on every platform, hides the dock icon, and sets the fuses for release only', () => {
    const release = builderConfig({ release: true });
    expect(release.protocols).toEqual([{ name: 'Hyperclay sign-in', schemes: ['hyperclay'] }]);
    expect(release.mac?.extendInfo).toMatchObject({ LSUIElement: true });
    expect(release.mac?.target).toEqual(['dmg']);
    expect(release.win?.target).toEqual(['nsis']);
    expect(release.linux?.target).toEqual(['AppImage', 'deb']);
    expect(release.linux?.mimeTypes).toEqual(['x-scheme-handler/hyperclay']);
    expect(release.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(builderConfig({ release: false }).electronFuses).toBeUndefined();
    expect(builderConfig({ release: true, scheme: 'hc-test' }).linux?.mimeTypes).toEqual(['x-scheme-handler/hc-test']);
  });
});

describe('the app bundle', () => {
  it('a release build bakes in https://hyperclay.com and ships no source maps; a dev build reads HYPERCLAY_URL', async () => {
    const release = await buildApp({ outDir: join(temp, 'release'), release: true });
    const main = readFileSync(release.main, 'utf8');
    expect(main).toContain('"https://hyperclay.com"');
    expect(main).not.toContain('__HYPERCLAY_BAKED_URL__');
    expect(readdirSync(join(temp, 'release', 'electron', 'main'))).toEqual(['index.js']);
    const dev = await buildApp({ outDir: join(temp, 'dev'), release: false });
    expect(readFileSync(dev.main, 'utf8')).not.toMatch(/bakedUrl = "https:\/\/hyperclay\.com"/);
    // The preload is one CommonJS file that needs nothing but electron (a sandboxed preload can load nothing else).
    const preload = readFileSync(release.preload, 'utf8');
    expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld("hyperclay"');
  });
});

describe('packaging smoke test (--linux dir, stand-in Electron)', () => {
  it('app.asar holds main, preload and renderer and no dependencies; the release fuses are set', async () => {
    const output = join(temp, 'out');
    const artifacts = await packageApp({
      release: true,
      platform: 'linux',
      dirOnly: true,
      electronDist: standInElectron(),
      outputDir: output,
      projectDir: join(temp, 'project'),
    });
    expect(artifacts).toBeDefined();
    const unpacked = join(output, 'linux-unpacked');
    const asar = join(unpacked, 'resources', 'app.asar');
    expect(existsSync(asar)).toBe(true);
    const files = listPackage(asar, { isPack: false });
    for (const file of [
      '/package.json',
      '/dist/electron/main/index.js',
      '/dist/electron/preload/index.cjs',
      '/dist/electron/icons/tray-on.png',
      '/dist/electron/icons/tray-attentionTemplate.png',
      '/dist/renderer/index.html',
      '/dist/renderer/app.js',
      '/dist/renderer/styles.css',
    ]) {
      expect(files).toContain(file);
    }
    // Nothing else: no node_modules (so no devDependency and no server-only native module), no sources, no maps.
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files.filter((f) => /\.(ts|map)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^\/(test|server-endpoints|cli|bench|sync-engine|electron|renderer)\b/.test(f))).toEqual(
      [],
    );
    const manifest = JSON.parse(extractFile(asar, 'package.json').toString()) as Record<string, unknown>;
    expect(manifest.main).toBe('dist/electron/main/index.js');
    expect(manifest.devDependencies).toBeUndefined();
    // The release fuses were flipped in the (stand-in) binary: 48 = off, 49 = on.
    const wire = await getCurrentFuseWire(join(unpacked, 'hyperclay-sync'));
    expect(wire[0]).toBe(48); // RunAsNode
    expect(wire[1]).toBe(49); // EnableCookieEncryption
    expect(wire[2]).toBe(48); // EnableNodeOptionsEnvironmentVariable
    expect(wire[3]).toBe(48); // EnableNodeCliInspectArguments
    expect(wire[4]).toBe(49); // EnableEmbeddedAsarIntegrityValidation
    expect(wire[5]).toBe(49); // OnlyLoadAppFromAsar
    expect(wire[7]).toBe(48); // GrantFileProtocolExtraPrivileges
  }, 120_000);
});
