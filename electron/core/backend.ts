// The seam between the desktop app and the sync engine: what the app asks of the engine, nothing more.

import type { StatusModel } from '../../sync-engine/status.js';

/** How a sign-in is finished: the deep link the browser opened, or the code the person pasted. */
export type SignInCompletion = { deepLink: string } | { code: string };

/**
 * The engine as the desktop app drives it. The real engine implements this; tests use a small fake.
 * Every method may reject with an `AppError`-shaped error (`code` + a sentence for the user).
 */
export interface AppBackend {
  /** The engine's status: phase, account, folder and the one notice. The app re-renders on its `change`. */
  readonly status: StatusModel;
  /** Starts the PKCE browser flow; the URL carries `state`, which the app checks incoming links against. */
  beginSignIn(): Promise<{ authorizeUrl: string }>;
  /** Exchanges the code (from the deep link or pasted) for a token; resolves once signed in. */
  completeSignIn(input: SignInCompletion): Promise<void>;
  /** Forgets the pending sign-in (its verifier and state). */
  cancelSignIn(): Promise<void>;
  /** Switches syncing on or off and remembers the choice. */
  setSyncOn(on: boolean): Promise<void>;
  /** Revokes on the server (best effort), deletes the token, stops syncing. */
  logOut(): Promise<void>;
  /** Binds the sync folder (the engine refuses the home folder, a root, or another account's folder). */
  chooseFolder(path: string): Promise<void>;
  /** What the OS says about the network; the engine probes `/sync/health` and starts a session on return. */
  setOsOnline(online: boolean): void;
  /** The machine is going to sleep / has woken up. */
  suspend(): void;
  resume(): void;
  /** Stops watching, polling and transfers cleanly; resolves when no write is half-done. */
  shutdown(): Promise<void>;
}

/** An error with a code and a sentence the person can act on. */
export class AppError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
}

/** Turns anything thrown into a code and one sentence, never a stack or a secret. */
export function describeError(error: unknown): { code: string; message: string } {
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string' && message.length > 0) {
      return { code, message: firstSentence(message) };
    }
    if (typeof message === 'string' && message.length > 0) return { code: 'internal', message: firstSentence(message) };
  }
  return { code: 'internal', message: 'Something went wrong. See the log file for details.' };
}

function firstSentence(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
