// The CLI's sign-in as the real-browser tests drive it: a `login` run started in a child process, the address it
// prints, and its end.

import { type CliEnv, spawnCli } from '../integration/cli-run.js';
import { until } from './engine.js';

export type CliChild = ReturnType<typeof spawnCli>;

/** The first line of the child's stdout that `pattern` matches, once printed. */
export async function printedLine(child: CliChild, pattern: RegExp, what: string): Promise<string> {
  const line = await until(
    () =>
      child
        .output()
        .stdout.split('\n')
        .find((l) => pattern.test(l)),
    what,
    30_000,
  );
  return line as string;
}

/** Starts `login --no-browser` and returns the process and the authorize address it printed on a line of its own. */
export async function startLogin(env: CliEnv): Promise<{ child: CliChild; url: string }> {
  const child = spawnCli(env, ['login', '--no-browser']);
  const url = await printedLine(child, /^http:\/\/127\.0\.0\.1:\d+\/sync\/authorize\?/, 'the authorize address');
  return { child, url };
}

export const exited = (child: CliChild): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('close', resolve));
