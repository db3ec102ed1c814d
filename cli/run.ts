// `start` (foreground, or a detached background process that reports back once it runs) and `stop`.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, watch } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { FolderLockedError, isProcessAlive, readFolderLock } from '../sync-engine/folder-lock.js';
import { readStatusFile } from '../sync-engine/status-file.js';
import { type CliContext, createCliRunner } from './context.js';
import { DETACHED_ENV, type DetachMessage, isDetachedChild, parseDetachMessage, tellParent } from './detach.js';
import { CliError, EXIT, notSignedIn, toCliError } from './errors.js';
import { binPath } from './install.js';

/** A process that exited but was not reaped yet (a zombie) counts as gone. */
export function isRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export const START_DESCRIPTION = 'hyperclay-sync start';
/** How long `start --detach` waits for the background process to say it runs (a first session can be long). */
const DETACH_WAIT_MS = 120_000;
const STOP_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `start --detach`: spawn this CLI as a background `start`, its output appended to the log, and wait for its word. */
async function startDetached(ctx: CliContext, folder: string, create: boolean): Promise<number> {
  const holder = readFolderLock(ctx.config.paths.locksDir, folder);
  if (holder) throw toCliError(new FolderLockedError(folder, holder), ctx.config.url);
  // Always through the installed command, however this process was started (the bin, the tsx CLI, node --import
  // tsx): the background process then does not depend on this one's loader flags.
  const script = binPath();
  const output = openSync(ctx.config.paths.logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script, 'start', '--dir', folder, ...(create ? ['--create'] : [])], {
      detached: true,
      stdio: ['ignore', output, output, 'ipc'],
      env: { ...process.env, [DETACHED_ENV]: '1' },
    });
  } finally {
    closeSync(output);
  }
  const answer = await new Promise<DetachMessage | { type: 'exited'; code: number | null } | { type: 'timeout' }>(
    (resolve) => {
      const timer = setTimeout(() => resolve({ type: 'timeout' }), DETACH_WAIT_MS);
      child.on('message', (message) => {
        const parsed = parseDetachMessage(message);
        if (!parsed) return;
        clearTimeout(timer);
        resolve(parsed);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ type: 'exited', code });
      });
      child.once('error', () => {
        clearTimeout(timer);
        resolve({ type: 'exited', code: null });
      });
    },
  );
  if (child.connected) child.disconnect();
  child.unref();
  switch (answer.type) {
    case 'running':
      ctx.io.out(`Syncing ${folder} in the background (process ${answer.pid}). Stop it with: hyperclay-sync stop`);
      return EXIT.done;
    case 'failed':
      throw new CliError(answer.exitCode, 'start_failed', answer.message);
    case 'timeout':
      ctx.io.out(
        `The background sync (process ${child.pid}) is still starting; see ${ctx.config.paths.logFile} for its progress.`,
      );
      return EXIT.done;
    case 'exited':
      throw new CliError(
        EXIT.failed,
        'start_failed',
        `The background sync stopped at once (exit code ${answer.code ?? 'unknown'}); see ${ctx.config.paths.logFile}.`,
      );
  }
}

export async function start(
  ctx: CliContext,
  flags: { dir?: string; detach?: boolean; create?: boolean },
): Promise<number> {
  const create = flags.create === true;
  const folder = ctx.syncFolder(flags.dir, { create });
  const saved = ctx.token();
  if (!saved?.user) throw notSignedIn(ctx.config.origin);
  if (flags.detach && !isDetachedChild()) return startDetached(ctx, folder, create);

  const account = { id: saved.user.id, email: saved.user.email };
  const api = ctx.api();
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  // `logout` here forgets the token: the sync stops with one INFO line, whichever notices first (the settings file
  // changing, or a request finding no token).
  let signedOutHere = false;
  const signedOutOnThisDevice = (): void => {
    if (signedOutHere) return;
    signedOutHere = true;
    ctx.log('info', 'signed out on this device: sync stopped');
    finish(EXIT.done);
  };
  const runner = createCliRunner(ctx, {
    api,
    folder,
    account,
    holder: START_DESCRIPTION,
    onSignedOut: (error) => {
      if (error.status === 0) return signedOutOnThisDevice();
      ctx.io.err(`${error.message} Run: hyperclay-sync login`);
      finish(EXIT.signedOut);
    },
  });
  // The watcher's handles kept the process alive; when the folder went away with them, Node ended it mid-await
  // (exit 13). A foreground sync lives until it is stopped.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second Ctrl-C: the person does not want to wait for transfers in flight. The state on disk is never
      // half-written, and the lock is released by the exit handler.
      ctx.io.err('Stopping at once; transfers in flight are retried at the next start.');
      process.exit(EXIT.failed);
    }
    signalled = true;
    ctx.log('info', `${signal}: stopping`);
    finish(EXIT.done);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (process.platform !== 'win32') process.on('SIGHUP', onSignal);

  let unwatch = (): void => {};
  let code: number;
  try {
    ctx.log('info', `hyperclay-sync start: syncing ${folder} as ${account.email} (process ${process.pid})`);
    await Promise.race([runner.start({ paused: !ctx.settings.getSyncOn() }), finished]);
    // It runs: this folder is the default from now on (a start that failed saved nothing).
    if (!signedOutHere) ctx.rememberFolder(folder);
    // `pause`, `resume` and `logout` (from another terminal) change the settings; the running sync follows them.
    unwatch = watchFile(ctx.settings.file, () => {
      // A token forgotten because the platform refused it is the runner's own doing: onSignedOut says so (exit 3).
      if (ctx.token() === null) {
        if (!runner.signedOut) signedOutOnThisDevice();
      } else if (ctx.settings.getSyncOn()) void runner.unpause();
      else void runner.pause();
    });
    const background = isDetachedChild();
    tellParent({ type: 'running', pid: process.pid });
    if (process.channel) process.channel.unref();
    ctx.io.out(
      `Syncing ${folder} as ${account.email} (process ${process.pid}). ${background ? 'Stop it with: hyperclay-sync stop' : 'Press Ctrl-C to stop.'}`,
    );
    code = await finished;
  } catch (error) {
    code = -1;
    await shutDown();
    throw error;
  }
  await shutDown();
  ctx.io.out(signedOutHere ? 'Signed out on this device; sync stopped.' : 'Sync stopped.');
  return code;

  async function shutDown(): Promise<void> {
    clearInterval(keepAlive);
    unwatch();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    try {
      await runner.stop();
    } finally {
      api.close();
    }
  }
}

export async function stop(ctx: CliContext, flags: { dir?: string }): Promise<number> {
  const folder = ctx.folder(flags.dir);
  const { paths } = ctx.config;
  const holder = readFolderLock(paths.locksDir, folder);
  if (!holder) {
    ctx.io.out(`No sync is running for ${folder}.`);
    return EXIT.done;
  }
  if (holder.host !== '' && holder.host !== hostname()) {
    throw new CliError(EXIT.failed, 'other_host', `${folder} is synced by a process on ${holder.host}; stop it there.`);
  }
  if (holder.description !== START_DESCRIPTION) {
    throw new CliError(
      EXIT.failed,
      'not_ours',
      `${folder} is synced by ${holder.description} (process ${holder.pid}), not by \`hyperclay-sync start\`; stop it there.`,
    );
  }
  const pid = holder.pid;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {}
  if (!(await waitUntilStopped(ctx, folder, pid))) {
    throw new CliError(
      EXIT.failed,
      'stop_timeout',
      `The sync (process ${pid}) did not stop within ${STOP_WAIT_MS / 1000} s; see ${paths.logFile}.`,
    );
  }
  ctx.io.out(`Stopped the sync of ${folder} (process ${pid}).`);
  return EXIT.done;
}

/**
 * Waits until the sync of `folder` by process `pid` has stopped: its lock released (it flushed its state first) and
 * the process ended or ending. False when it had not within STOP_WAIT_MS.
 */
export async function waitUntilStopped(ctx: CliContext, folder: string, pid: number): Promise<boolean> {
  const { paths } = ctx.config;
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const holder = readFolderLock(paths.locksDir, folder);
    const released = holder === null || holder.pid !== pid;
    if (released && !isRunning(pid)) return true;
    if (released && readStatusFile(paths.statusFile)?.running === false) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** Calls `changed` when `file` is written (also when it is replaced by a rename, as the settings file is). */
function watchFile(file: string, changed: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  const watcher = watch(dirname(file), (_event, name) => {
    if (name !== basename(file) || timer) return;
    timer = setTimeout(() => {
      timer = null;
      changed();
    }, 50);
  });
  watcher.on('error', () => {});
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}

/** `pause` / `resume`: the setting (the app's toggle) that a running sync follows and a new `start` begins with. */
export async function switchSync(ctx: CliContext, on: boolean): Promise<number> {
  const folder = ctx.folder(undefined);
  const was = ctx.settings.getSyncOn();
  ctx.settings.setSyncOn(on);
  const holder = readFolderLock(ctx.config.paths.locksDir, folder);
  const what = on ? 'on' : 'paused';
  if (!holder) {
    ctx.io.out(
      on
        ? `Sync is on. No sync is running for ${folder}; start it with: hyperclay-sync start`
        : `Sync is paused. No sync is running for ${folder}; a later \`hyperclay-sync start\` starts paused until \`hyperclay-sync resume\`.`,
    );
    return EXIT.done;
  }
  if (holder.description !== START_DESCRIPTION) {
    ctx.io.out(`${folder} is synced by ${holder.description} (process ${holder.pid}); switch it there.`);
    return EXIT.done;
  }
  ctx.io.out(
    was === on
      ? `Sync was already ${what} (${holder.description}, process ${holder.pid}).`
      : `Sync is ${what} (${holder.description}, process ${holder.pid}).${on ? '' : ' Resume with: hyperclay-sync resume'}`,
  );
  return EXIT.done;
}
