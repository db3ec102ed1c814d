// How the desktop app opens the engine's settings store through electron-store: the same conf options, with conf's
// `configName` under the `name` electron-store expects (it would otherwise write `config.json`, not the CLI's file).

import type { SettingsData, SettingsStoreOptions } from '../../sync-engine/settings.js';

export interface ElectronStoreSettingsOptions {
  name: string;
  cwd: string;
  configFileMode: number;
  clearInvalidConfig: boolean;
  defaults: SettingsData;
}

export function electronStoreOptions(options: SettingsStoreOptions): ElectronStoreSettingsOptions {
  const { configName, ...rest } = options;
  return { ...rest, name: configName };
}
