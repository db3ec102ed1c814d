// The sign-in deep link's arrival: finding it in argv, holding links that come before the app is ready, and the
// pasted code. Parsing and the state check are the engine's (sync-engine/sign-in-callback.ts parseCallbackUrl): one
// parser.

// The same shape the engine accepts (sync-engine/sign-in-callback.ts), checked here so junk never reaches it.
const CODE = /^[A-Za-z0-9._~-]{8,512}$/;

/** The redirect URI the desktop app registers for the browser flow (PROTOCOL.md Auth step 1). */
export function callbackUri(scheme: string): string {
  return `${scheme}://auth/callback`;
}

/** A pasted code, trimmed; null when it cannot be a code (so nothing malformed reaches the server). */
export function parsePastedCode(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const code = raw.trim();
  return CODE.test(code) ? code : null;
}

/**
 * The link among command-line arguments (cold start, or a second instance's argv), found by its scheme prefix:
 * Windows and Linux pass it as an argument, anywhere among Chromium's own switches.
 */
export function findDeepLinkInArgv(argv: readonly unknown[], scheme: string): string | null {
  const prefix = `${scheme}://`;
  for (const arg of argv) {
    if (typeof arg === 'string' && arg.slice(0, prefix.length).toLowerCase() === prefix) return arg;
  }
  return null;
}

/**
 * Holds links until the app can act on them: macOS sends `open-url` before `ready`, and a cold start's argv
 * is read before the window and the engine exist.
 */
export class DeepLinkInbox {
  #ready = false;
  #queue: string[] = [];
  readonly #deliver: (url: string) => void;
  readonly #limit: number;

  constructor(deliver: (url: string) => void, limit = 4) {
    this.#deliver = deliver;
    this.#limit = limit;
  }

  receive(url: string): void {
    if (this.#ready) {
      this.#deliver(url);
      return;
    }
    // A flood before ready is not a sign-in: keep only the newest few.
    this.#queue.push(url);
    if (this.#queue.length > this.#limit) this.#queue.shift();
  }

  markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    const queued = this.#queue;
    this.#queue = [];
    for (const url of queued) this.#deliver(url);
  }

  get pending(): number {
    return this.#queue.length;
  }
}
