// The `hyperclay-sync` entry point: parses the command line, opens the shared context, runs one command and turns
// its outcome into an exit code (0 done, 1 failed, 2 bad usage, 3 not signed in, 4 platform unreachable).

import { pathToFileURL } from 'node:url';
import { parseCommandLine } from './commands.js';
import { type CliContext, type CliOutput, openContext } from './context.js';
import { doctor } from './doctor.js';
import { CliError, EXIT, toCliError } from './errors.js';
import { login, logout } from './login.js';
import { isDetachedChild, start, stop, tellParent } from './run.js';
import { status } from './status.js';
import { sync } from './sync.js';

const consoleOutput: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const flag = (flags: Record<string, string | boolean | undefined>, name: string): boolean => flags[name] === true;
const text = (flags: Record<string, string | boolean | undefined>, name: string): string | undefined => {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
};

/** Runs one command line (argv without node and the script) and returns its exit code. */
export async function run(argv: readonly string[], io: CliOutput = consoleOutput): Promise<number> {
  let ctx: CliContext | null = null;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === 'help') {
      io.out(parsed.text);
      return EXIT.done;
    }
    if (parsed.kind === 'version') {
      io.out(openContext({ io }).clientVersion);
      return EXIT.done;
    }
    const { name, flags } = parsed;
    const background = isDetachedChild();
    ctx = openContext({ io, echoLog: name === 'start' && !flag(flags, 'detach') && !background });
    if (background) {
      // The background process's stdout and stderr are the log file: write whole log lines instead.
      const logger = ctx.logger;
      ctx.io = { out: (line) => logger.info(line), err: (line) => logger.error(line) };
    }
    switch (name) {
      case 'login':
        return await login(ctx, { code: text(flags, 'code'), noBrowser: flag(flags, 'no-browser') });
      case 'logout':
        return await logout(ctx);
      case 'start':
        return await start(ctx, { dir: text(flags, 'dir'), detach: flag(flags, 'detach') });
      case 'stop':
        return await stop(ctx, { dir: text(flags, 'dir') });
      case 'status':
        return status(ctx, { json: flag(flags, 'json') });
      case 'sync':
        return await sync(ctx, {
          dir: text(flags, 'dir'),
          dryRun: flag(flags, 'dry-run'),
          allowDeletes: flag(flags, 'allow-deletes'),
        });
      case 'doctor':
        return await doctor(ctx, { dir: text(flags, 'dir') });
      case 'log':
        io.out(ctx.config.paths.logFile);
        return EXIT.done;
    }
    return EXIT.usage;
  } catch (error) {
    const failure = error instanceof CliError ? error : toCliError(error, ctx?.config.url ?? 'HYPERCLAY_URL');
    if (!(error instanceof CliError)) ctx?.log('error', `${argv[0] ?? ''} failed: ${failure.message}`);
    tellParent({ type: 'failed', exitCode: failure.exitCode, message: failure.message });
    (ctx?.io ?? io).err(`hyperclay-sync: ${failure.message}`);
    return failure.exitCode;
  } finally {
    await ctx?.close();
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  const code = await run(process.argv.slice(2));
  // stdin (a pasted code), a keep-alive socket or a browser opener must not keep a finished command alive.
  process.exit(code);
}
