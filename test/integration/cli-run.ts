// Runs the real `hyperclay-sync` command as a child process (the installed bin, which runs the build in dist/cli) for
// the CLI tests, with its own settings folder and platform address.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openSettings } from '../../sync-engine/settings.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  home: string;
  url: string;
  pollSeconds?: number;
}

export function cliEnv(env: CliEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HYPERCLAY_URL: env.url,
    HYPERCLAY_SYNC_HOME: env.home,
    // The default sync folder is ~/Hyperclay: inside the test's home, never the real one.
    HOME: `${env.home}-user`,
    SYNC_POLL_SECONDS: String(env.pollSeconds ?? 0.5),
    HYPERCLAY_SYNC_DETACHED: '',
  };
}

/** Starts the CLI; the caller reads its output as it comes (login prints the address, then waits). */
export function spawnCli(
  env: CliEnv,
  args: string[],
  options: { cwd?: string } = {},
): ChildProcess & { output: () => CliResult } {
  // The installed command, which must work from any working folder.
  const command = [fileURLToPath(new URL('../../bin/hyperclay-sync.js', import.meta.url)), ...args];
  const child = spawn(process.execPath, command, {
    cwd: options.cwd ?? REPO,
    env: cliEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return Object.assign(child, { output: () => ({ code: child.exitCode, stdout, stderr }) });
}

/** Runs the CLI to its end. */
export async function runCli(
  env: CliEnv,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnCli(env, args, options);
  child.stdin?.end();
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hyperclay-sync ${args.join(' ')} did not finish in ${timeoutMs} ms: ${child.output().stderr}`));
    }, timeoutMs);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { ...child.output(), code };
}

/** Puts a working token into the CLI's settings, as `login` would. */
export function seedSignIn(home: string, url: string, account: { id: string; email: string; token: string }): void {
  const settings = openSettings(home);
  const now = Date.now();
  settings.tokens.save({
    token: account.token,
    origin: new URL(url).origin,
    expiresAt: new Date(now + 9 * 86_400_000).toISOString(),
    issuedAt: new Date(now).toISOString(),
    user: { id: account.id, email: account.email, plan: 'paid' },
  });
}
