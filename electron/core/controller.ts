// The app controller: the desktop app's state machine between the window, the tray and the engine.
// signed-out -> waiting-for-browser -> on / off / offline / needs-attention, and back on log out.

import { EventEmitter } from 'node:events';
import type { LogLevel } from '../../sync-engine/log.js';
import { parseCallbackUrl } from '../../sync-engine/sign-in-callback.js';
import type { SyncStatus } from '../../sync-engine/status.js';
import { type AppBackend, describeError } from './backend.js';
import { isAllowedExternalUrl } from './config.js';
import { parsePastedCode } from './deep-link.js';
import type { ActionResult, WindowView } from './view.js';

export type AppPhase = 'signed-out' | 'waiting-for-browser' | 'on' | 'off' | 'offline' | 'needs-attention';

export interface AppState {
  phase: AppPhase;
  /** The red line: the engine's notice, or the sentence of the last failed action. */
  notice: string | null;
  email: string | null;
  folder: string | null;
  /** The last completed session or poll, to the minute (the tray shows it; polls every 10 s change nothing else). */
  lastSyncAt: string | null;
}

/** One line per event; callers never pass tokens, codes or links. */
export type AppLog = (level: LogLevel, message: string) => void;

export interface ControllerOptions {
  backend: AppBackend;
  /** The platform origin; the authorize URL must be on it. */
  origin: string;
  scheme: string;
  /** Opens a URL in the system browser (Electron's shell.openExternal). */
  openExternal(url: string): Promise<void>;
  log: AppLog;
}

const CANCELLED = 'Sign-in was cancelled in the browser. Click Sync to try again.';
const BAD_CODE = 'That is not a sign-in code. Copy the code shown in your browser and paste it again.';

function ok(): ActionResult {
  return { ok: true };
}
function failed(code: string, message: string): ActionResult {
  return { ok: false, code, message };
}

export class AppController extends EventEmitter<{ change: [AppState] }> {
  readonly #options: ControllerOptions;
  /** The `state` of the sign-in in progress; links with any other state are ignored. */
  #pendingState: string | null = null;
  #completing = false;
  #actionNotice: string | null = null;
  #state: AppState;
  #shutdown: Promise<void> | null = null;
  readonly #onStatus = (): void => this.#refresh();

  constructor(options: ControllerOptions) {
    super();
    this.#options = options;
    this.#state = this.#derive();
    options.backend.status.on('change', this.#onStatus);
  }

  get state(): AppState {
    return this.#state;
  }

  get view(): WindowView {
    return windowView(this.#state);
  }

  get signInPending(): boolean {
    return this.#pendingState !== null;
  }

  /** The Sync button and the tray's "Sign In…": opens the authorize page in the browser. */
  async signIn(): Promise<ActionResult> {
    if (this.#signedIn())
      return failed('already_signed_in', 'You are already signed in. Log out first to switch accounts.');
    let authorizeUrl: string;
    try {
      ({ authorizeUrl } = await this.#options.backend.beginSignIn());
    } catch (error) {
      return this.#fail('sign-in could not start', error);
    }
    const state = authorizeState(authorizeUrl, this.#options.origin);
    if (state === null) {
      this.#options.log('error', 'sign-in refused: the authorize URL is not on the configured platform origin');
      return this.#setFailure(
        'bad_authorize_url',
        'Sign-in could not start: the app is misconfigured. See the log file.',
      );
    }
    this.#pendingState = state;
    this.#actionNotice = null;
    this.#refresh();
    this.#options.log('info', 'sign-in started in the browser');
    try {
      await this.#options.openExternal(authorizeUrl);
    } catch (error) {
      // The person can still open the page by hand and paste the code; keep waiting.
      this.#options.log('warn', `the browser did not open: ${describeError(error).message}`);
    }
    return ok();
  }

  /** A link from argv, a second instance or open-url. Anything unexpected is ignored and logged. */
  async handleDeepLink(raw: unknown): Promise<ActionResult> {
    const result = parseCallbackUrl(raw, { scheme: this.#options.scheme, expectedState: this.#pendingState });
    if (result.type === 'ignored') {
      this.#options.log('warn', `deep link ignored: ${result.reason}`);
      return failed('link_ignored', 'The sign-in link was not for this sign-in.');
    }
    if (result.type === 'cancelled') {
      this.#options.log('info', 'sign-in refused in the browser');
      await this.#dropPending();
      return this.#setFailure('access_denied', CANCELLED);
    }
    return this.#complete({ deepLink: raw as string });
  }

  /** The paste-code fallback. A pasted callback link is accepted too. */
  async submitCode(raw: unknown): Promise<ActionResult> {
    if (this.#pendingState === null) {
      return failed('no_sign_in_pending', 'Click Sync first, then paste the code from your browser.');
    }
    if (typeof raw === 'string' && raw.trim().toLowerCase().startsWith(`${this.#options.scheme}://`)) {
      return this.handleDeepLink(raw.trim());
    }
    const code = parsePastedCode(raw);
    if (code === null) return this.#setFailure('bad_code', BAD_CODE);
    return this.#complete({ code });
  }

  async cancelSignIn(): Promise<ActionResult> {
    if (this.#pendingState === null) return ok();
    this.#options.log('info', 'sign-in cancelled');
    await this.#dropPending();
    this.#actionNotice = null;
    this.#refresh();
    return ok();
  }

  async setSyncOn(on: boolean): Promise<ActionResult> {
    if (!this.#signedIn()) return failed('signed_out', 'Sign in first.');
    try {
      await this.#options.backend.setSyncOn(on);
    } catch (error) {
      return this.#fail(`sync could not be switched ${on ? 'on' : 'off'}`, error);
    }
    this.#options.log('info', `sync switched ${on ? 'on' : 'off'}`);
    this.#actionNotice = null;
    this.#refresh();
    return ok();
  }

  /** The tray's toggle. */
  toggleSync(): Promise<ActionResult> {
    return this.setSyncOn(this.#state.phase === 'off');
  }

  async logOut(): Promise<ActionResult> {
    if (!this.#signedIn()) return ok();
    try {
      await this.#options.backend.logOut();
    } catch (error) {
      return this.#fail('log out failed', error);
    }
    this.#options.log('info', 'logged out');
    this.#actionNotice = null;
    this.#refresh();
    return ok();
  }

  async chooseFolder(path: string): Promise<ActionResult> {
    try {
      await this.#options.backend.chooseFolder(path);
    } catch (error) {
      return this.#fail('folder not changed', error);
    }
    this.#actionNotice = null;
    this.#refresh();
    return ok();
  }

  setOsOnline(online: boolean): void {
    this.#options.log('info', `the OS reports the network ${online ? 'online' : 'offline'}`);
    this.#options.backend.setOsOnline(online);
  }

  suspend(): void {
    this.#options.log('info', 'system suspending');
    this.#options.backend.suspend();
  }

  resume(): void {
    this.#options.log('info', 'system resumed');
    this.#options.backend.resume();
  }

  /** Stops the engine once, however many times quit is asked for. */
  shutdown(): Promise<void> {
    if (this.#shutdown === null) {
      this.#options.backend.status.off('change', this.#onStatus);
      this.#shutdown = this.#options.backend.shutdown().catch((error: unknown) => {
        this.#options.log('error', `the engine did not stop cleanly: ${describeError(error).message}`);
      });
    }
    return this.#shutdown;
  }

  async #complete(input: { deepLink: string } | { code: string }): Promise<ActionResult> {
    if (this.#completing) return failed('busy', 'Signing in already; please wait.');
    this.#completing = true;
    try {
      await this.#options.backend.completeSignIn(input);
    } catch (error) {
      // The code may have been mistyped: keep waiting so the person can paste again.
      return this.#fail('sign-in failed', error);
    } finally {
      this.#completing = false;
    }
    this.#pendingState = null;
    this.#actionNotice = null;
    this.#options.log('info', `signed in (${'code' in input ? 'pasted code' : 'deep link'})`);
    this.#refresh();
    return ok();
  }

  async #dropPending(): Promise<void> {
    this.#pendingState = null;
    try {
      await this.#options.backend.cancelSignIn();
    } catch (error) {
      this.#options.log('warn', `cancelling the sign-in failed: ${describeError(error).message}`);
    }
  }

  #fail(what: string, error: unknown): ActionResult {
    const { code, message } = describeError(error);
    this.#options.log('error', `${what}: ${code}: ${message}`);
    return this.#setFailure(code, message);
  }

  #setFailure(code: string, message: string): ActionResult {
    this.#actionNotice = message;
    this.#refresh();
    return failed(code, message);
  }

  #signedIn(): boolean {
    return this.#options.backend.status.current.phase !== 'signed-out';
  }

  #refresh(): void {
    // The engine signing in by itself (e.g. a code it received elsewhere) ends the wait.
    if (this.#pendingState !== null && this.#signedIn() && !this.#completing) this.#pendingState = null;
    const next = this.#derive();
    if (JSON.stringify(next) === JSON.stringify(this.#state)) return;
    this.#state = next;
    this.emit('change', next);
  }

  #derive(): AppState {
    const status: SyncStatus = this.#options.backend.status.current;
    const phase: AppPhase =
      this.#pendingState !== null && status.phase === 'signed-out' ? 'waiting-for-browser' : phaseOf(status);
    return {
      phase,
      // Needing attention without a notice (e.g. another process syncs the folder): the sentence says what to do.
      notice: this.#actionNotice ?? status.notice?.text ?? (attention(status) ? status.lastError : null),
      email: status.account?.email ?? null,
      folder: status.folder,
      lastSyncAt: status.lastSyncAt === null ? null : `${status.lastSyncAt.slice(0, 16)}Z`,
    };
  }
}

function phaseOf(status: SyncStatus): AppPhase {
  switch (status.phase) {
    case 'signed-out':
      return 'signed-out';
    case 'off':
    case 'paused':
      return 'off';
    case 'syncing':
      return 'on';
    case 'offline':
      return 'offline';
    case 'folder-missing':
    case 'needs-attention':
      return 'needs-attention';
  }
}

/** A phase the person has to act on, whose sentence is the last error when there is no notice. */
function attention(status: SyncStatus): boolean {
  return status.phase === 'needs-attention' || status.phase === 'folder-missing';
}

/**
 * The window's view of a state: SPEC.md's three screens. Offline and needs-attention are still "Sync: On" (the
 * toggle's setting), but green only while it syncs: anything else there is the needs-attention look, as the tray's.
 */
export function windowView(state: AppState): WindowView {
  switch (state.phase) {
    case 'signed-out':
      return { screen: 'signed-out', notice: state.notice };
    case 'waiting-for-browser':
      return { screen: 'waiting', notice: state.notice };
    default: {
      const syncOn = state.phase !== 'off';
      const attention = syncOn && !(state.phase === 'on' && state.notice === null);
      return { screen: 'signed-in', syncOn, attention, notice: state.notice };
    }
  }
}

/** The `state` parameter of an authorize URL on the platform origin, or null when the URL is not one. */
export function authorizeState(url: string, origin: string): string | null {
  if (!isAllowedExternalUrl(url, origin)) return null;
  const parsed = new URL(url);
  if (parsed.pathname !== '/sync/authorize') return null;
  const state = parsed.searchParams.get('state');
  return state !== null && /^[A-Za-z0-9._~-]{8,256}$/.test(state) ? state : null;
}
