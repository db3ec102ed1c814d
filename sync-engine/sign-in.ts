// The browser sign-in (PROTOCOL.md "Auth", RFC 8252 with PKCE): the verifier and its challenge, the authorize URL,
// the callback by deep link or loopback listener, and the code exchange that yields a saved token.

import { createHash, randomBytes } from 'node:crypto';
import {
  callbackUri,
  isCodeVerifier,
  isLoopbackRedirectUri,
  isValidScheme,
  type TokenResponse,
} from '../protocol/index.js';
import { checkOrigin, type SavedToken, type TokenStore } from './auth.js';
import { type ApiClient, createApiClient } from './endpoints.js';
import { ApiError, SignInError } from './errors.js';
import type { EngineLog } from './log.js';
import { type CallbackResult, isSignInCode, parseCallbackUrl } from './sign-in-callback.js';
import { CallbackListener } from './sign-in-listener.js';

/** A signed-in result: the saved token plus who it is for. */
export type SignedIn = SavedToken & { user: NonNullable<SavedToken['user']> };

export interface SignInOptions {
  origin: string;
  /** `<scheme>://auth/callback` (desktop deep link), or 'loopback' (the CLI: http://127.0.0.1:<port>/callback). */
  redirectUri: string | 'loopback';
  /** Shown on the platform's consent page ("Connect <device>?"). */
  deviceName: string;
  /** The client used for the code exchange; one bound to `origin` is made when absent. */
  api?: ApiClient;
  clientVersion?: string;
  /** When given, a successful exchange saves the token here. */
  tokenStore?: TokenStore;
  log?: EngineLog;
  /** Local clock in ms (obtainedAtMs); default Date.now. */
  now?: () => number;
  /**
   * Continues a sign-in started by an earlier process (the CLI keeps its PKCE verifier and state on disk, mode
   * 0600, so that `login --code` can exchange a code pasted after the first run ended).
   */
  resume?: { codeVerifier: string; state: string };
}

export interface LoopbackListener {
  port: number;
  redirectUri: string;
  authorizeUrl: string;
  /** Resolves with the code of the first valid callback; rejects with SignInError (cancelled, timeout, closed). */
  code: Promise<string>;
  close(): Promise<void>;
}

export interface SignIn {
  readonly state: string;
  readonly codeChallenge: string;
  /** The PKCE secret: only for a caller that must keep the pending sign-in across processes (never log it). */
  readonly codeVerifier: string;
  /** Null for 'loopback' until the listener is started (its port is part of it). */
  readonly redirectUri: string | null;
  readonly authorizeUrl: string | null;
  /** True until an exchange succeeded or the sign-in was cancelled. */
  readonly pending: boolean;
  /** Starts the CLI's listener on 127.0.0.1 (port 0) serving `/callback`. Only for 'loopback'. */
  startLoopbackListener(options?: { timeoutMs?: number }): Promise<LoopbackListener>;
  /** Checks a deep link against this sign-in (null state once it is no longer pending). */
  acceptCallbackUrl(url: string, scheme: string): CallbackResult;
  /** POST /sync/token with the code (from a callback or pasted by hand). */
  exchange(code: string): Promise<SignedIn>;
  /** Stops waiting (closes the listener); later callbacks are ignored. */
  cancel(): void;
}

/**
 * The end of every sign-in (browser code, pasted code, device code): the platform's answer bound to its origin,
 * saved in the token store and logged (the account, never the token).
 */
export async function saveSignedIn(
  answer: TokenResponse,
  options: { origin: string; tokenStore?: TokenStore; log?: EngineLog; now?: () => number },
): Promise<SignedIn> {
  const saved: SignedIn = {
    token: answer.token,
    origin: options.origin,
    expiresAt: answer.expiresAt,
    obtainedAtMs: (options.now ?? Date.now)(),
    user: answer.user,
  };
  await options.tokenStore?.save(saved);
  options.log?.('info', `signed in as ${answer.user.email}`);
  return saved;
}

/** base64url of 48 random bytes: 64 characters of the PKCE verifier alphabet (RFC 7636: 43-128). */
export function createCodeVerifier(): string {
  return randomBytes(48).toString('base64url');
}

export function codeChallengeFor(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * A redirect URI this client may register: `<scheme>://auth/callback` for a scheme an app may use, or a loopback
 * `http://…:<port>/callback` spelled as the platform accepts it (protocol/ `isLoopbackRedirectUri`).
 */
export function checkRedirectUri(uri: string): boolean {
  const scheme = /^([^:/?#]+):/.exec(uri)?.[1] ?? '';
  if (isValidScheme(scheme)) return uri === callbackUri(scheme);
  return isLoopbackRedirectUri(uri);
}

/** One sign-in from its authorize URL to its code exchange. */
class PendingSignIn implements SignIn {
  readonly state: string;
  readonly codeChallenge: string;
  readonly codeVerifier: string;
  readonly #options: SignInOptions;
  readonly #origin: string;
  readonly #deviceName: string;
  readonly #log: EngineLog;
  #redirectUri: string | null;
  #pending = true;
  #ownApi: ApiClient | null = null;
  #listener: LoopbackListener | null = null;

  constructor(options: SignInOptions, origin: string) {
    this.#options = options;
    this.#origin = origin;
    this.#log = options.log ?? (() => {});
    this.#deviceName = options.deviceName.trim().slice(0, 100) || 'this device';
    this.codeVerifier = options.resume?.codeVerifier ?? createCodeVerifier();
    this.codeChallenge = codeChallengeFor(this.codeVerifier);
    this.state = options.resume?.state ?? randomBytes(24).toString('base64url');
    this.#redirectUri = options.redirectUri === 'loopback' ? null : options.redirectUri;
  }

  get redirectUri(): string | null {
    return this.#redirectUri;
  }

  get authorizeUrl(): string | null {
    return this.#redirectUri === null ? null : this.#authorizeUrlFor(this.#redirectUri);
  }

  get pending(): boolean {
    return this.#pending;
  }

  async startLoopbackListener(listenOptions: { timeoutMs?: number } = {}): Promise<LoopbackListener> {
    if (this.#options.redirectUri !== 'loopback') {
      throw new Error('startLoopbackListener is only for a loopback sign-in');
    }
    if (this.#listener) return this.#listener;
    const server = await CallbackListener.start({ state: this.state, log: this.#log, ...listenOptions });
    const redirectUri = `http://127.0.0.1:${server.port}/callback`;
    this.#redirectUri = redirectUri;
    this.#listener = {
      port: server.port,
      redirectUri,
      authorizeUrl: this.#authorizeUrlFor(redirectUri),
      code: server.code,
      close: () => server.close(),
    };
    return this.#listener;
  }

  acceptCallbackUrl(url: string, scheme: string): CallbackResult {
    return parseCallbackUrl(url, { scheme, expectedState: this.#pending ? this.state : null });
  }

  async exchange(rawCode: string): Promise<SignedIn> {
    if (!this.#pending) {
      throw new SignInError('sign_in_failed', 'This sign-in is already finished. Start signing in again.');
    }
    const redirectUri = this.#redirectUri;
    if (redirectUri === null) {
      throw new SignInError('sign_in_failed', 'Start the sign-in listener before exchanging a code.');
    }
    const code = rawCode.trim();
    if (!isSignInCode(code)) {
      throw new SignInError(
        'invalid_grant',
        'That sign-in code does not look right. Copy it again from the browser page.',
      );
    }
    const answer = await this.#exchangeCode(code, redirectUri);
    const saved = await saveSignedIn(answer, { ...this.#options, origin: this.#origin });
    this.#pending = false;
    void this.#listener?.close();
    this.#ownApi?.close();
    return saved;
  }

  cancel(): void {
    this.#pending = false;
    void this.#listener?.close();
    this.#ownApi?.close();
  }

  /** POST /sync/token; a 400 means the code is wrong, used or expired. */
  async #exchangeCode(code: string, redirectUri: string): Promise<TokenResponse> {
    try {
      return await this.#api().exchangeCode(code, this.codeVerifier, redirectUri);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        this.#log('warn', `sign-in code refused: ${error.code}`);
        throw new SignInError(
          'invalid_grant',
          'This sign-in code is wrong, already used or expired (codes last 5 minutes). Start signing in again.',
          { cause: error },
        );
      }
      throw error;
    }
  }

  #api(): ApiClient {
    const given = this.#options.api;
    if (given) {
      if (given.origin !== this.#origin) {
        throw new SignInError('sign_in_failed', 'The sign-in and its client disagree on the platform address.');
      }
      return given;
    }
    this.#ownApi ??= createApiClient({
      origin: this.#origin,
      getToken: () => null,
      clientVersion: this.#options.clientVersion ?? '0.0.0',
      log: this.#log,
    });
    return this.#ownApi;
  }

  #authorizeUrlFor(redirect: string): string {
    const url = new URL('/sync/authorize', this.#origin);
    url.searchParams.set('redirect_uri', redirect);
    url.searchParams.set('state', this.state);
    url.searchParams.set('code_challenge', this.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('device_name', this.#deviceName);
    return url.toString();
  }
}

/** Starts a sign-in for `options.origin`; throws for an insecure origin, a foreign redirect or a damaged resume. */
export function createSignIn(options: SignInOptions): SignIn {
  const origin = checkOrigin(options.origin);
  if (options.redirectUri !== 'loopback' && !checkRedirectUri(options.redirectUri)) {
    throw new SignInError(
      'sign_in_failed',
      `The redirect address ${JSON.stringify(options.redirectUri)} is not allowed.`,
    );
  }
  if (options.resume && (!isCodeVerifier(options.resume.codeVerifier) || !options.resume.state)) {
    throw new SignInError('sign_in_failed', 'The saved sign-in is damaged. Start signing in again.');
  }
  return new PendingSignIn(options, origin);
}
