// The AppBackend over the real engine's pieces: the PKCE sign-in, the settings file and its token, log out, and a
// SyncRunner (the engine's watcher + poller session loop, see engine-runner.ts) that the app starts and stops.

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
  accountId: string;
  status: StatusModel;
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
  /** The engine's runner for a signed-in account and folder (engine-runner.ts `engineRunnerFactory`). */
  createRunner: (context: RunnerContext) => SyncRunner;
  /** The user's home folder (the sync folder may be neither it nor a root). */
  home?: string;
}

/** `ready` resolves once the saved sign-in has been read and syncing started (or not). */
export function createEngineBackend(options: EngineBackendOptions): AppBackend & { ready: Promise<void> } {
  const home = options.home ?? homedir();
  const status = new StatusModel();
  const tokens: TokenStore = settingsTokenStore(options.settings.tokens, options.origin);
  let signIn: SignIn | null = null;
  let api: ApiClient | null = null;
  let runner: SyncRunner | null = null;
  let online = true;

  const folder = (): string => options.settings.getFolder() ?? defaultSyncFolder(home);

  const openApi = (): ApiClient => {
    api ??= createApiClient({
      origin: options.origin,
      clientVersion: options.clientVersion,
      log: options.log,
      isOnline: () => online,
      ...tokenAccess(tokens),
    });
    return api;
  };

  let lastStop: Promise<void> = Promise.resolve();
  const stopRunner = async (): Promise<void> => {
    const current = runner;
    runner = null;
    if (current === null) {
      // Another caller is stopping it: wait until the engine has really stopped (and let its lock go).
      await lastStop;
      return;
    }
    const stopped = current.stop();
    lastStop = stopped.catch(() => {});
    await stopped;
  };

  // One settle at a time: a quick Off -> On must not start the new engine before the old one has let the folder's
  // lock go (it would find the lock held by this very app).
  let settling: Promise<void> = Promise.resolve();
  const settle = (): Promise<void> => {
    const next = settling.then(settleNow);
    settling = next.catch(() => {});
    return next;
  };

  /** Brings the status and the runner in line with the settings: signed in or not, on or off. */
  const settleNow = async (): Promise<void> => {
    const account = options.settings.tokens.account();
    if (account === null || (await tokens.load()) === null) {
      await stopRunner();
      status.update({ phase: 'signed-out', account: null, folder: folder(), pending: 0 });
      return;
    }
    status.update({ account: { id: account.user.id, email: account.user.email }, folder: folder() });
    if (!options.settings.getSyncOn()) {
      await stopRunner();
      status.update({ phase: 'off', lastError: null });
      return;
    }
    if (runner !== null) return;
    status.update({ phase: 'syncing', lastError: null });
    const started = options.createRunner({
      api: openApi(),
      folder: folder(),
      accountId: account.user.id,
      status,
      onSignedOut: (error) => {
        if (runner === started) runner = null;
        void signedOutByPlatform(error);
      },
    });
    runner = started;
    try {
      await started.start();
    } catch (error) {
      if (runner === started) runner = null;
      if (isSignedOut(error)) {
        await signedOutByPlatform(error);
        return;
      }
      // A folder another process syncs, a folder bound to another account, a folder that cannot be created:
      // nothing syncs, and the window says why (the red line shows lastError while it needs attention).
      const { code, message } = describeError(error);
      options.log('error', `sync could not start: ${code}: ${message}`);
      status.update({ phase: 'needs-attention', lastError: message });
    }
  };

  /** 401/402: the token is no good any more. Forget it so that the next start is signed out too. */
  const signedOutByPlatform = async (error: SignedOutError): Promise<void> => {
    await stopRunner();
    await tokens.clear();
    api?.close();
    api = null;
    const subscription = error.code === 'subscription_required';
    options.log('warn', `signed out by the platform (${error.code})`);
    status.update({
      phase: 'signed-out',
      account: null,
      pending: 0,
      notice: subscription ? { code: 'subscription_required', text: NOTICE_TEXT.subscription_required } : null,
    });
  };

  const exchange = async (code: string): Promise<void> => {
    if (signIn === null)
      throw new AppError('no_sign_in_pending', 'Click Sync first, then paste the code from your browser.');
    await signIn.exchange(code);
    signIn = null;
    status.update({ notice: null });
    options.log('info', 'signed in');
    await settle();
  };

  const ready = settle().catch((error: unknown) => options.log('error', `start failed: ${(error as Error).message}`));

  return {
    status,
    ready,
    async beginSignIn() {
      signIn?.cancel();
      signIn = createSignIn({
        origin: options.origin,
        redirectUri: callbackUri(options.scheme),
        deviceName: options.deviceName,
        clientVersion: options.clientVersion,
        tokenStore: tokens,
        log: options.log,
      });
      if (signIn.authorizeUrl === null) throw new AppError('sign_in_failed', 'Sign-in could not start.');
      return { authorizeUrl: signIn.authorizeUrl };
    },
    async completeSignIn(input: SignInCompletion) {
      if ('code' in input) return exchange(input.code);
      if (signIn === null) throw new AppError('no_sign_in_pending', 'No sign-in is in progress.');
      const result = signIn.acceptCallbackUrl(input.deepLink, options.scheme);
      if (result.type === 'cancelled') throw new AppError('sign_in_cancelled', 'Sign-in was cancelled in the browser.');
      if (result.type === 'ignored')
        throw new AppError('link_ignored', `The sign-in link was ignored: ${result.reason}.`);
      return exchange(result.code);
    },
    async cancelSignIn() {
      signIn?.cancel();
      signIn = null;
    },
    async setSyncOn(on) {
      options.settings.setSyncOn(on);
      await settle();
    },
    async logOut() {
      await stopRunner();
      await signOut({ api: openApi(), tokenStore: tokens, log: options.log });
      api?.close();
      api = null;
      status.update({ notice: null, lastError: null });
      await settle();
    },
    async chooseFolder(path) {
      const chosen = resolve(path);
      if (chosen === resolve(home) || chosen === resolve(chosen, '..')) {
        throw new AppError(
          'bad_folder',
          'Choose a folder inside your home folder, not the home folder or a drive itself.',
        );
      }
      await stopRunner();
      options.settings.setFolder(chosen);
      await settle();
    },
    setOsOnline(now) {
      online = now;
      runner?.setOsOnline(now);
    },
    suspend() {
      runner?.suspend();
    },
    resume() {
      runner?.resume();
    },
    async shutdown() {
      signIn?.cancel();
      await stopRunner();
      api?.close();
      api = null;
    },
  };
}
