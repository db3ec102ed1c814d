// The desktop app's settings and token: the engine's settings file (conf, mode 0600) in userData, which is exactly
// where and how electron-store would keep it, with the token encrypted by safeStorage where that means something.

import { app, safeStorage } from 'electron';
import { openSettings, type Settings } from '../../sync-engine/settings.js';
import type { AppLog } from '../core/controller.js';
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
  return openSettings(app.getPath('userData'), codec === null ? {} : { codec });
}
