// The sign-in deep link: finding it in argv, parsing it strictly, and holding links that arrive before the app is ready.

/** What a valid callback link says: a code to exchange, or the browser's refusal. Never logged. */
export type CallbackLink =
  | { kind: 'code'; code: string; state: string }
  | { kind: 'error'; error: string; state: string };

export type ParsedLink = { ok: true; link: CallbackLink } | { ok: false; reason: string };

const MAX_LINK_LENGTH = 2048;
const STATE = /^[A-Za-z0-9._~-]{8,256}$/;
const CODE = /^[A-Za-z0-9._~-]{8,512}$/;
const ERROR = /^[a-z_]{1,64}$/;
// Whitespace, controls and anything outside printable ASCII: a real callback never holds them.
const UNPRINTABLE = /[^\x21-\x7e]/;
const SCHEME = /^[a-z][a-z0-9+.-]{0,31}$/;

export function isValidScheme(scheme: string): boolean {
  return SCHEME.test(scheme) && !['http', 'https', 'file', 'javascript', 'data', 'blob', 'about'].includes(scheme);
}

/** The redirect URI the desktop app registers for the browser flow (PROTOCOL.md Auth step 1). */
export function callbackUri(scheme: string): string {
  return `${scheme}://auth/callback`;
}

/**
 * Parses `<scheme>://auth/callback?code=K&state=S` (or `?error=E&state=S`) and nothing else: no credentials,
 * port, fragment, other host or path, duplicate or unknown parameters. The reason is safe to log.
 */
export function parseDeepLink(raw: unknown, scheme: string): ParsedLink {
  if (typeof raw !== 'string') return { ok: false, reason: 'not text' };
  if (raw.length > MAX_LINK_LENGTH) return { ok: false, reason: 'longer than 2048 characters' };
  if (UNPRINTABLE.test(raw)) return { ok: false, reason: 'holds spaces, controls or non-ASCII characters' };
  const prefix = `${callbackUri(scheme)}?`;
  // Compared on the raw text so that no URL normalisation (dot segments, case, escapes) can make a link pass.
  if (raw.slice(0, prefix.length).toLowerCase() !== prefix) return { ok: false, reason: 'not the sign-in callback' };
  const query = raw.slice(prefix.length);
  if (query.includes('#')) return { ok: false, reason: 'has a fragment' };
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'has a malformed parameter' };
    const key = pair.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return { ok: false, reason: 'has a malformed escape' };
    }
    if (params.has(key)) return { ok: false, reason: `repeats the parameter ${key}` };
    params.set(key, value);
  }
  const state = params.get('state');
  if (state === undefined || !STATE.test(state)) return { ok: false, reason: 'has no valid state' };
  const code = params.get('code');
  const error = params.get('error');
  const allowed = code !== undefined ? ['code', 'state'] : ['error', 'state', 'error_description'];
  for (const key of params.keys()) {
    if (!allowed.includes(key)) return { ok: false, reason: `has an unexpected parameter ${key.slice(0, 32)}` };
  }
  if (code !== undefined) {
    if (!CODE.test(code)) return { ok: false, reason: 'has a malformed code' };
    return { ok: true, link: { kind: 'code', code, state } };
  }
  if (error !== undefined && ERROR.test(error)) return { ok: true, link: { kind: 'error', error, state } };
  return { ok: false, reason: 'has neither a code nor an error' };
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
