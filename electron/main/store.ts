// The desktop app's settings and token: the engine's settings module over electron-store (conf with Electron's paths)
// in userData, the same file format and mode (0600) as the CLI's, with the token encrypted by safeStorage where that
// means something.

import { app, safeStorage } from 'electron';
import ElectronStore from 'electron-store';
import { openSettings, type Settings, type SettingsData } from '../../sync-engine/settings.js';
import type { AppLog } from '../core/controller.js';
import { electronStoreOptions } from '../core/settings-store.js';
import { keychainTokenCodec, type SecretCipher } from '../core/token-codec.js';

export const safeStorageCipher: SecretCipher = {
  isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
  backend: () => (process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os'),
  encryptString: (text) => safeStorage.encryptString(text),
  decryptString: (data) => safeStorage.decryptString(data),
};

/** Must run after `ready` (safeStorage needs it). */
export function openDesktopSettings(log: AppLog): Settings {
  const codec = keychainTokenCodec(safeStorageCipher, (message) => log('info', message));
  const open = (options: Parameters<typeof electronStoreOptions>[0]) =>
    new ElectronStore<SettingsData>(electronStoreOptions(options));
  return openSettings(app.getPath('userData'), codec === null ? { open } : { codec, open });
}
