// The device sign-in (PROTOCOL.md "Device sign-in", RFC 8628) for a machine without a browser: ask for a device code,
// show the short code and where to enter it, poll at the platform's interval until Allow, Cancel or expiry.

import { DEVICE_SLOW_DOWN_S } from '../protocol/index.js';
import type { TokenStore } from './auth.js';
import type { ApiClient } from './endpoints.js';
import { ApiError, OfflineError, SignInError } from './errors.js';
import type { EngineLog } from './log.js';
import { type SignedIn, saveSignedIn } from './sign-in.js';

export interface DeviceSignInOptions {
  /** The client of the platform (its origin is the token's). */
  api: ApiClient;
  /** Shown on the platform's consent page ("Connect <device>?"). */
  deviceName: string;
  /** When given, the token is saved here, as every other sign-in saves it. */
  tokenStore?: TokenStore;
  log?: EngineLog;
  now?: () => number;
}

export interface DeviceSignIn {
  /** `ABCD-EFGH`: what the person types on the platform's /device page. */
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string;
  /** Local ms after which the code is of no use. */
  readonly expiresAtMs: number;
  /** Polls until signed in; rejects with SignInError (denied, expired, stopped by `signal`). */
  wait(signal?: AbortSignal): Promise<SignedIn>;
}

/** Waits `ms`, or rejects as stopped when `signal` aborts first. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stopped = () => {
      clearTimeout(timer);
      reject(new SignInError('sign_in_cancelled', 'Sign-in was stopped before it finished.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stopped);
      resolve();
    }, ms);
    if (signal?.aborted) stopped();
    else signal?.addEventListener('abort', stopped, { once: true });
  });
}

const EXPIRED = 'The code expired before it was allowed (codes last 10 minutes). Run the device sign-in again.';

/** POST /sync/device/code, then a DeviceSignIn that polls for the answer. */
export async function startDeviceSignIn(options: DeviceSignInOptions): Promise<DeviceSignIn> {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const deviceName = options.deviceName.trim().slice(0, 100) || 'this device';
  const codes = await options.api.startDeviceCode(deviceName);
  const expiresAtMs = now() + codes.expires_in * 1000;
  log('info', 'device sign-in started: waiting for the code to be entered in a browser');

  async function wait(signal?: AbortSignal): Promise<SignedIn> {
    let intervalS = codes.interval;
    let offlineSaid = false;
    for (;;) {
      await pause(intervalS * 1000, signal);
      if (now() > expiresAtMs + intervalS * 1000) throw new SignInError('sign_in_expired', EXPIRED);
      try {
        const answer = await options.api.pollDeviceToken(codes.device_code);
        return await saveSignedIn(answer, { origin: options.api.origin, ...options });
      } catch (error) {
        if (error instanceof OfflineError) {
          // A network hiccup does not end the sign-in: the code stays valid until it expires.
          if (!offlineSaid) log('warn', `device sign-in: the platform is not answering (${error.message})`);
          offlineSaid = true;
          continue;
        }
        if (!(error instanceof ApiError) || error.status !== 400) throw error;
        if (error.code === 'authorization_pending') continue;
        if (error.code === 'slow_down') {
          intervalS += DEVICE_SLOW_DOWN_S;
          log('info', `device sign-in: the platform asks for slower polls: every ${intervalS} s now`);
          continue;
        }
        throw refusal(error, log);
      }
    }
  }

  return {
    userCode: codes.user_code,
    verificationUri: codes.verification_uri,
    verificationUriComplete: codes.verification_uri_complete,
    expiresAtMs,
    wait,
  };
}

/** A final answer of a poll as the SignInError the CLI reports. */
function refusal(error: ApiError, log: EngineLog): SignInError {
  log('warn', `device sign-in refused: ${error.code}`);
  if (error.code === 'access_denied') {
    return new SignInError('sign_in_denied', 'The sign-in was cancelled in the browser. Nothing was saved.');
  }
  if (error.code === 'expired_token') return new SignInError('sign_in_expired', EXPIRED);
  return new SignInError(
    'invalid_grant',
    'The platform no longer knows this sign-in (used or expired). Run the device sign-in again.',
    { cause: error },
  );
}
