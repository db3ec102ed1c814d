// The AppBackend over the real engine's pieces: the PKCE sign-in, the settings file and its token, log out, and the
// folder's sync (sync-engine/runner.ts, see engine-runner.ts) that the app starts and stops with the on/off setting.

import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { settingsTokenStore, signOut, type TokenStore, tokenAccess } from '../../sync-engine/auth.js';
import { defaultSyncFolder } from '../../sync-engine/config.js';
import { type ApiClient, createApiClient } from '../../sync-engine/endpoints.js';
import type { SyncRunner } from '../../sync-engine/engine.js';
import { isSignedOut, type SignedOutError } from '../../sync-engine/errors.js';
import type { EngineLog } from '../../sync-engine/log.js';
import type { Settings } from '../../sync-engine/settings.js';
import { createSignIn, type SignIn } from '../../sync-engine/sign-in.js';
import { NOTICE_TEXT, StatusModel } from '../../sync-engine/status.js';
import { type AppBackend, AppError, describeError, type SignInCompletion } from './backend.js';
import { callbackUri } from './deep-link.js';

export type { SyncRunner } from '../../sync-engine/engine.js';

export interface RunnerContext {
  api: ApiClient;
  folder: string;
  account: { id: string; email: string };
  status: StatusModel;
  /** Forgets the token: the platform signed this device out. */
  forgetToken(): Promise<void>;
  /** The platform signed this device out (401/402) while syncing; the runner has already stopped. */
  onSignedOut(error: SignedOutError): void;
}

export interface EngineBackendOptions {
  origin: string;
  scheme: string;
  deviceName: string;
  clientVersion: string;
  settings: Settings;
  log: EngineLog;
  /** The folder's sync for a signed-in account and folder (engine-runner.ts `engineRunnerFactory`). */
  createRunner: (context: RunnerContext) => SyncRunner;
  /** The user's home folder (the sync folder may be neither it nor a root). */
  home?: string;
}

/** `ready` resolves once the saved sign-in has been read and syncing started (or not). */
export function createEngineBackend(options: EngineBackendOptions): AppBackend & { ready: Promise<void> } {
  return new EngineBackend(options);
}

class EngineBackend implements AppBackend {
  readonly status = new StatusModel();
  readonly ready: Promise<void>;
  readonly #o: EngineBackendOptions;
  readonly #home: string;
  readonly #tokens: TokenStore;
  #signIn: SignIn | null = null;
  #api: ApiClient | null = null;
  #runner: SyncRunner | null = null;
  #online = true;
  #lastStop: Promise<void> = Promise.resolve();
  #settling: Promise<void> = Promise.resolve();

  constructor(options: EngineBackendOptions) {
    this.#o = options;
    this.#home = options.home ?? homedir();
    this.#tokens = settingsTokenStore(options.settings.tokens, options.origin);
    this.ready = this.#settle().catch((error: unknown) =>
      options.log('error', `start failed: ${(error as Error).message}`),
    );
  }

  #folder(): string {
    return this.#o.settings.getFolder() ?? defaultSyncFolder(this.#home);
  }

  #openApi(): ApiClient {
    this.#api ??= createApiClient({
      origin: this.#o.origin,
      clientVersion: this.#o.clientVersion,
      log: this.#o.log,
      isOnline: () => this.#online,
      ...tokenAccess(this.#tokens),
    });
    return this.#api;
  }

  #closeApi(): void {
    this.#api?.close();
    this.#api = null;
  }

  async #stopRunner(): Promise<void> {
    const current = this.#runner;
    this.#runner = null;
    if (current === null) {
      // Another caller is stopping it: wait until the engine has really stopped (and let its lock go).
      await this.#lastStop;
      return;
    }
    const stopped = current.stop();
    this.#lastStop = stopped.catch(() => {});
    await stopped;
  }

  /**
   * One settle at a time: a quick Off -> On must not start the new engine before the old one has let the folder's
   * lock go (it would find the lock held by this very app).
   */
  #settle(): Promise<void> {
    const next = this.#settling.then(() => this.#settleNow());
    this.#settling = next.catch(() => {});
    return next;
  }

  /** Brings the status and the runner in line with the settings: signed in or not, on or off. */
  async #settleNow(): Promise<void> {
    const account = this.#o.settings.tokens.account();
    if (account === null || (await this.#tokens.load()) === null) {
      await this.#stopRunner();
      this.status.folderChosen(this.#folder());
      this.status.signedOut('keep');
      return;
    }
    const who = { id: account.user.id, email: account.user.email };
    this.status.signedIn(who, this.#folder());
    if (!this.#o.settings.getSyncOn()) {
      await this.#stopRunner();
      this.status.switchedOff();
      return;
    }
    if (this.#runner === null) await this.#startRunner(who);
  }

  async #startRunner(account: { id: string; email: string }): Promise<void> {
    this.status.started();
    const started = this.#o.createRunner({
      api: this.#openApi(),
      folder: this.#folder(),
      account,
      status: this.status,
      forgetToken: async () => this.#tokens.clear(),
      onSignedOut: (error) => {
        if (this.#runner === started) this.#runner = null;
        void this.#signedOutByPlatform(error);
      },
    });
    this.#runner = started;
    try {
      await started.start();
    } catch (error) {
      if (this.#runner === started) this.#runner = null;
      if (isSignedOut(error)) return this.#signedOutByPlatform(error);
      // A folder another process syncs, a folder bound to another account, a folder that cannot be created:
      // nothing syncs, and the window says why (the red line shows lastError while it needs attention).
      const { code, message } = describeError(error);
      this.#o.log('error', `sync could not start: ${code}: ${message}`);
      this.status.couldNotStart(message);
    }
  }

  /** 401/402: the token is no good any more. Forget it so that the next start is signed out too. */
  async #signedOutByPlatform(error: SignedOutError): Promise<void> {
    await this.#stopRunner();
    await this.#tokens.clear();
    this.#closeApi();
    this.#o.log('warn', `signed out by the platform (${error.code})`);
    const subscription = error.code === 'subscription_required';
    this.status.signedOut(
      subscription ? { code: 'subscription_required', text: NOTICE_TEXT.subscription_required } : null,
    );
  }

  async #exchange(code: string): Promise<void> {
    if (this.#signIn === null) {
      throw new AppError('no_sign_in_pending', 'Click Sync first, then paste the code from your browser.');
    }
    await this.#signIn.exchange(code);
    this.#signIn = null;
    this.status.noticeCleared();
    this.#o.log('info', 'signed in');
    await this.#settle();
  }

  async beginSignIn(): Promise<{ authorizeUrl: string }> {
    this.#signIn?.cancel();
    this.#signIn = createSignIn({
      origin: this.#o.origin,
      redirectUri: callbackUri(this.#o.scheme),
      deviceName: this.#o.deviceName,
      clientVersion: this.#o.clientVersion,
      tokenStore: this.#tokens,
      log: this.#o.log,
    });
    if (this.#signIn.authorizeUrl === null) throw new AppError('sign_in_failed', 'Sign-in could not start.');
    return { authorizeUrl: this.#signIn.authorizeUrl };
  }

  async completeSignIn(input: SignInCompletion): Promise<void> {
    if ('code' in input) return this.#exchange(input.code);
    if (this.#signIn === null) throw new AppError('no_sign_in_pending', 'No sign-in is in progress.');
    const result = this.#signIn.acceptCallbackUrl(input.deepLink, this.#o.scheme);
    if (result.type === 'cancelled') throw new AppError('sign_in_cancelled', 'Sign-in was cancelled in the browser.');
    if (result.type === 'ignored')
      throw new AppError('link_ignored', `The sign-in link was ignored: ${result.reason}.`);
    return this.#exchange(result.code);
  }

  async cancelSignIn(): Promise<void> {
    this.#signIn?.cancel();
    this.#signIn = null;
  }

  async setSyncOn(on: boolean): Promise<void> {
    this.#o.settings.setSyncOn(on);
    await this.#settle();
  }

  async logOut(): Promise<void> {
    await this.#stopRunner();
    await signOut({ api: this.#openApi(), tokenStore: this.#tokens, log: this.#o.log });
    this.#closeApi();
    this.status.cleared();
    await this.#settle();
  }

  async chooseFolder(path: string): Promise<void> {
    const chosen = resolve(path);
    if (chosen === resolve(this.#home) || chosen === resolve(chosen, '..')) {
      throw new AppError(
        'bad_folder',
        'Choose a folder inside your home folder, not the home folder or a drive itself.',
      );
    }
    await this.#stopRunner();
    this.#o.settings.setFolder(chosen);
    await this.#settle();
  }

  setOsOnline(online: boolean): void {
    this.#online = online;
    this.#runner?.setOsOnline(online);
  }

  suspend(): void {
    this.#runner?.suspend();
  }

  resume(): void {
    this.#runner?.resume();
  }

  async shutdown(): Promise<void> {
    this.#signIn?.cancel();
    await this.#stopRunner();
    this.#closeApi();
  }
}
