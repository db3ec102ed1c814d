// The token at rest in the desktop app: the engine's settings file (mode 0600) plus the OS keychain where it helps.

import type { TokenCodec } from '../../sync-engine/settings.js';

/** Electron's safeStorage, as the codec needs it. */
export interface SecretCipher {
  isEncryptionAvailable(): boolean;
  /** Linux: `basic_text`, `gnome_libsecret`, `kwallet*`, `unknown`; elsewhere `os`. */
  backend(): string;
  encryptString(text: string): Buffer;
  decryptString(data: Buffer): string;
}

export type Protection = { kind: 'os-encryption' } | { kind: 'file-mode-only'; reason: string };

/**
 * Whether to encrypt. Linux's `basic_text` backend encrypts with a password written in Chromium's source: it
 * protects nothing, and the token would become unreadable once a keyring appears. So there the token is
 * deliberately kept only by the 0600 file mode, and the choice is logged.
 */
export function chooseProtection(cipher: SecretCipher): Protection {
  if (!cipher.isEncryptionAvailable()) return { kind: 'file-mode-only', reason: 'no OS encryption is available' };
  if (cipher.backend() === 'basic_text') {
    return { kind: 'file-mode-only', reason: 'no keyring is running (basic_text backend)' };
  }
  return { kind: 'os-encryption' };
}

export const KEYCHAIN_CODEC_NAME = 'os-keychain';

/**
 * The engine's TokenCodec over the OS keychain, or null to store the token in the clear in the 0600 file.
 * A token saved under one choice is not read under the other (the engine then reports signed-out).
 */
export function keychainTokenCodec(cipher: SecretCipher, log: (message: string) => void): TokenCodec | null {
  const protection = chooseProtection(cipher);
  if (protection.kind === 'file-mode-only') {
    log(`the token is kept in a file only its owner can read, without keychain encryption: ${protection.reason}`);
    return null;
  }
  return {
    name: KEYCHAIN_CODEC_NAME,
    encode: (plain) => cipher.encryptString(plain).toString('base64'),
    decode: (stored) => {
      const data = Buffer.from(stored, 'base64');
      if (data.length === 0) throw new Error('The saved token is empty.');
      return cipher.decryptString(data);
    },
  };
}
