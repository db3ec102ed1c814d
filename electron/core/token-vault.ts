// The sign-in token at rest: encrypted with the OS keychain where there is one, in a 0600 file either way.

/** Electron's safeStorage, as the vault needs it. */
export interface SecretCipher {
  isEncryptionAvailable(): boolean;
  /** Linux only: `basic_text`, `gnome_libsecret`, `kwallet*`; elsewhere `os`. */
  backend(): string;
  encryptString(text: string): Buffer;
  decryptString(data: Buffer): string;
}

/** A single record in the app's store (electron-store with mode 0600 in the app). */
export interface RecordStore {
  read(): unknown;
  write(record: StoredToken): void;
  remove(): void;
}

export interface StoredToken {
  v: 1;
  /** The origin that issued the token: it is never sent anywhere else. */
  origin: string;
  protection: 'os-encryption' | 'file-mode-only';
  /** base64 of the ciphertext, or the token itself under `file-mode-only`. */
  data: string;
}

export type Protection = { kind: 'os-encryption' } | { kind: 'file-mode-only'; reason: string };

/**
 * Whether to encrypt. Linux's `basic_text` backend encrypts with a password written in Chromium's source, which
 * protects nothing and breaks the token when a keyring appears later: we deliberately store it in the clear in
 * the 0600 file instead, and log that choice.
 */
export function chooseProtection(cipher: SecretCipher): Protection {
  if (!cipher.isEncryptionAvailable()) return { kind: 'file-mode-only', reason: 'no OS encryption is available' };
  if (cipher.backend() === 'basic_text') {
    return { kind: 'file-mode-only', reason: 'no keyring is running (basic_text backend)' };
  }
  return { kind: 'os-encryption' };
}

export class TokenVault {
  readonly #store: RecordStore;
  readonly #cipher: SecretCipher;
  readonly #log: (message: string) => void;

  constructor(store: RecordStore, cipher: SecretCipher, log: (message: string) => void) {
    this.#store = store;
    this.#cipher = cipher;
    this.#log = log;
  }

  save(token: string, origin: string): void {
    const protection = chooseProtection(this.#cipher);
    if (protection.kind === 'os-encryption') {
      const data = this.#cipher.encryptString(token).toString('base64');
      this.#store.write({ v: 1, origin, protection: 'os-encryption', data });
    } else {
      this.#log(`token stored in a file only its owner can read, without keychain encryption: ${protection.reason}`);
      this.#store.write({ v: 1, origin, protection: 'file-mode-only', data: token });
    }
  }

  /** The token for `origin`, or null: none saved, another origin's, unreadable or undecryptable (sign in again). */
  load(origin: string): string | null {
    const record = parseStoredToken(this.#store.read());
    if (record === null) return null;
    if (record.origin !== origin) {
      this.#log('saved token ignored: it was issued by another platform origin');
      return null;
    }
    if (record.protection === 'file-mode-only') return record.data;
    if (!this.#cipher.isEncryptionAvailable()) {
      this.#log('saved token unreadable: OS encryption is not available now; sign in again');
      return null;
    }
    try {
      return this.#cipher.decryptString(Buffer.from(record.data, 'base64'));
    } catch {
      this.#log('saved token unreadable: the keychain could not decrypt it; sign in again');
      return null;
    }
  }

  clear(): void {
    this.#store.remove();
  }
}

function parseStoredToken(value: unknown): StoredToken | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  if (r.v !== 1 || typeof r.origin !== 'string' || typeof r.data !== 'string' || r.data.length === 0) return null;
  if (r.protection !== 'os-encryption' && r.protection !== 'file-mode-only') return null;
  return { v: 1, origin: r.origin, protection: r.protection, data: r.data };
}
