// electron-store for the app's settings and the token record: files in userData with mode 0600.

import { safeStorage } from 'electron';
import Store from 'electron-store';
import type { RecordStore, SecretCipher } from '../core/token-vault.js';

export interface DesktopSettings {
  /** The sync folder; null until chosen (the engine then uses ~/Hyperclay). */
  folder: string | null;
  syncOn: boolean;
}

export interface SettingsStore {
  get(): DesktopSettings;
  set(change: Partial<DesktopSettings>): void;
}

export function createSettingsStore(): SettingsStore {
  const store = new Store<DesktopSettings>({
    name: 'settings',
    configFileMode: 0o600,
    defaults: { folder: null, syncOn: true },
  });
  return {
    get() {
      // The file is on disk and could have been edited: read it back field by field.
      const folder = store.get('folder');
      const syncOn = store.get('syncOn');
      return { folder: typeof folder === 'string' ? folder : null, syncOn: syncOn !== false };
    },
    set(change) {
      if (change.folder !== undefined) store.set('folder', change.folder);
      if (change.syncOn !== undefined) store.set('syncOn', change.syncOn);
    },
  };
}

export function createTokenRecordStore(): RecordStore {
  const store = new Store<{ token?: unknown }>({ name: 'token', configFileMode: 0o600 });
  return {
    read: () => store.get('token'),
    write: (record) => store.set('token', record),
    remove: () => store.delete('token'),
  };
}

export const safeStorageCipher: SecretCipher = {
  isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
  backend: () => (process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os'),
  encryptString: (text) => safeStorage.encryptString(text),
  decryptString: (data) => safeStorage.decryptString(data),
};
