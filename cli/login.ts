// `login` and `logout`: the browser sign-in through a loopback redirect, a pasted code (on stdin, or with
// `login --code` in a later run, which needs the pending PKCE secrets kept on disk), and signing out. The device
// sign-in (`login --device`) is login-device.ts.

import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { signOut } from '../sync-engine/auth.js';
import { SignInError } from '../sync-engine/errors.js';
import { errnoOf, writeFileAtomic } from '../sync-engine/fsutil.js';
import { createSignIn, type SignedIn } from '../sync-engine/sign-in.js';
import { readStatusFile } from '../sync-engine/status-file.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, reachDetail, unreachable } from './errors.js';
import { isRunning, waitUntilStopped } from './run.js';

/** A code lives 5 minutes on the platform (PROTOCOL.md); the pending sign-in is useless after that. */
export const PENDING_LIFETIME_MS = 5 * 60 * 1000;
export const PENDING_FILE = 'pending-sign-in.json';

interface PendingSignIn {
  origin: string;
  redirectUri: string;
  codeVerifier: string;
  state: string;
  expiresAt: string;
}

const pendingFile = (ctx: CliContext): string => join(ctx.config.paths.home, PENDING_FILE);

/** The pending sign-in for this platform, if one is saved, readable and not expired. */
function readPending(ctx: CliContext): PendingSignIn | null {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(pendingFile(ctx), 'utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const fields = ['origin', 'redirectUri', 'codeVerifier', 'state', 'expiresAt'] as const;
  if (!fields.every((field) => typeof r[field] === 'string')) return null;
  const pending = r as unknown as PendingSignIn;
  if (pending.origin !== ctx.config.origin) return null;
  const expires = Date.parse(pending.expiresAt);
  if (Number.isNaN(expires) || expires < Date.now()) return null;
  return pending;
}

function forgetPending(ctx: CliContext): void {
  try {
    unlinkSync(pendingFile(ctx));
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
}

/** Best effort: the address is printed anyway, so a missing opener is not an error. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replaceAll('&', '^&')]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {}
}

export async function checkReachable(ctx: CliContext): Promise<void> {
  try {
    await ctx.api({ timeoutMs: 10_000 }).health();
  } catch (error) {
    throw unreachable(ctx.config.url, reachDetail(error));
  }
}

export function signInFailure(error: unknown): never {
  if (error instanceof SignInError) {
    throw new CliError(EXIT.failed, error.code, error.message);
  }
  throw error;
}

export function reportSignedIn(ctx: CliContext, signedIn: SignedIn): number {
  forgetPending(ctx);
  ctx.io.out(`Signed in to ${ctx.config.origin} as ${signedIn.user.email}.`);
  return EXIT.done;
}

async function loginWithCode(ctx: CliContext, code: string): Promise<number> {
  const pending = readPending(ctx);
  if (!pending) {
    throw new CliError(
      EXIT.failed,
      'no_pending_sign_in',
      'No sign-in is waiting for a code (a code works for 5 minutes, with the `login` that printed its address). Run `hyperclay-sync login --no-browser` and use the new code.',
    );
  }
  await checkReachable(ctx);
  const signIn = createSignIn({
    origin: ctx.config.origin,
    redirectUri: pending.redirectUri,
    deviceName: ctx.deviceName,
    api: ctx.api(),
    tokenStore: ctx.tokens,
    log: ctx.log,
    resume: { codeVerifier: pending.codeVerifier, state: pending.state },
  });
  try {
    return reportSignedIn(ctx, await signIn.exchange(code));
  } catch (error) {
    // The platform spends a code on its first exchange, right or wrong: this sign-in cannot be finished now.
    if (error instanceof SignInError && error.code === 'invalid_grant') forgetPending(ctx);
    return signInFailure(error);
  }
}

async function loginInBrowser(ctx: CliContext, openIt: boolean): Promise<number> {
  await checkReachable(ctx);
  const signIn = createSignIn({
    origin: ctx.config.origin,
    redirectUri: 'loopback',
    deviceName: ctx.deviceName,
    api: ctx.api(),
    tokenStore: ctx.tokens,
    log: ctx.log,
  });
  const listener = await signIn.startLoopbackListener({ timeoutMs: PENDING_LIFETIME_MS });
  const pending: PendingSignIn = {
    origin: ctx.config.origin,
    redirectUri: listener.redirectUri,
    codeVerifier: signIn.codeVerifier,
    state: signIn.state,
    expiresAt: new Date(Date.now() + PENDING_LIFETIME_MS).toISOString(),
  };
  await writeFileAtomic(pendingFile(ctx), `${JSON.stringify(pending)}\n`, { mode: 0o600 });

  ctx.io.out('Open this address in a browser to sign in:');
  ctx.io.out(listener.authorizeUrl);
  ctx.io.out(
    'If the browser cannot come back to this computer, paste the code the page shows here, or run: hyperclay-sync login --code <code>',
  );
  if (openIt) openBrowser(listener.authorizeUrl);

  const startedAt = Date.now();
  let stopWatching = (): void => {};
  const finished = new Promise<SignedIn>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: Promise<SignedIn>) => {
      outcome.then(
        (signedIn) => {
          if (settled) return;
          settled = true;
          resolve(signedIn);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          reject(error);
        },
      );
    };
    // 1. The browser comes back to the loopback listener.
    settle(listener.code.then((code) => signIn.exchange(code)));
    // 2. The code is pasted here.
    const lines = process.stdin.readable ? createInterface({ input: process.stdin }) : null;
    lines?.on('line', (line) => {
      const code = line.trim();
      if (code === '' || settled) return;
      settle(signIn.exchange(code));
    });
    // 3. Another run (`login --code`) finished this sign-in.
    const timer = setInterval(() => {
      if (readPending(ctx) !== null) return;
      const saved = ctx.token();
      if (saved?.user && saved.obtainedAtMs >= startedAt - 1000) {
        settle(Promise.resolve({ ...saved, user: saved.user }));
      }
    }, 500);
    stopWatching = () => {
      clearInterval(timer);
      lines?.close();
      process.stdin.pause();
    };
  });
  try {
    return reportSignedIn(ctx, await finished);
  } catch (error) {
    if (error instanceof SignInError && error.code !== 'sign_in_failed') forgetPending(ctx);
    return signInFailure(error);
  } finally {
    stopWatching();
    await listener.close();
  }
}

export async function login(
  ctx: CliContext,
  flags: { code?: string; noBrowser?: boolean; device?: boolean },
): Promise<number> {
  if (flags.device && (flags.code !== undefined || flags.noBrowser)) {
    throw new CliError(EXIT.usage, 'usage', '`login --device` takes neither --code nor --no-browser.');
  }
  if (flags.device) return (await import('./login-device.js')).loginWithDevice(ctx);
  if (flags.code !== undefined) return loginWithCode(ctx, flags.code);
  return loginInBrowser(ctx, flags.noBrowser !== true);
}

/** The `hyperclay-sync start` of this data folder that is running now (another process), if any. */
function runningStart(ctx: CliContext): { pid: number; folder: string } | null {
  const record = readStatusFile(ctx.config.paths.statusFile);
  if (!record?.running || record.command !== 'start' || record.folder === null) return null;
  if (record.pid === process.pid || !isRunning(record.pid)) return null;
  return { pid: record.pid, folder: record.folder };
}

/**
 * `logout`: forget the token here, then revoke it on the platform. A running `start` watches the settings: it stops
 * with one INFO line once the token is gone, before the platform revokes what it holds (so it never meets a 401 that
 * reads like a fault). When the platform cannot be told, the command says so and exits 4.
 */
export async function logout(ctx: CliContext): Promise<number> {
  forgetPending(ctx);
  const saved = ctx.token();
  if (!saved) {
    ctx.io.out(`You are not signed in to ${ctx.config.origin}.`);
    return EXIT.done;
  }
  const running = runningStart(ctx);
  if (running) {
    ctx.tokens.clear();
    const stopped = await waitUntilStopped(ctx, running.folder, running.pid);
    ctx.io.out(
      stopped
        ? `The running sync of ${running.folder} (process ${running.pid}) stopped.`
        : `The running sync (process ${running.pid}) has not stopped yet; it stops at its next request.`,
    );
  }
  const api = ctx.api({ timeoutMs: 10_000, token: saved });
  const result = await signOut({ api, tokenStore: ctx.tokens, log: ctx.log });
  if (result.platformTold) {
    ctx.io.out(`Signed out of ${ctx.config.origin}; this device's sign-in is forgotten.`);
    return EXIT.done;
  }
  ctx.io.out('Signed out on this device: the sign-in is forgotten here.');
  throw new CliError(
    EXIT.unreachable,
    'platform_not_told',
    `The platform at ${ctx.config.url} could not be told (${result.reason}), so it still counts this device as signed in until the sign-in expires unused (10 days). Nothing on this device can use it any more.`,
  );
}
