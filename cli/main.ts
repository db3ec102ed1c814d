// The `hyperclay-sync` entry point: parses the command line, opens the shared context, runs one command and turns
// its outcome into an exit code (0 done, 1 failed, 2 bad usage, 3 not signed in, 4 platform unreachable).

import { pathToFileURL } from 'node:url';
import { parseCommandLine } from './commands.js';
import type { CliContext, CliOutput } from './context.js';
import { isDetachedChild, tellParent } from './detach.js';
import { CliError, EXIT, toCliError } from './errors.js';
import { clientVersion } from './install.js';

const consoleOutput: CliOutput = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  ...(process.stdout.isTTY ? { terminal: process.stdout } : {}),
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
      io.out(clientVersion());
      return EXIT.done;
    }
    const { name, flags, argument } = parsed;
    const background = isDetachedChild();
    // The engine, the log and the HTTP client load only for a command that needs them: `--help` stays instant.
    const { openContext } = await import('./context.js');
    ctx = openContext({ io, echoLog: name === 'start' && !flag(flags, 'detach') && !background });
    if (background) {
      // The background process's stdout and stderr are the log file: write whole log lines instead.
      const logger = ctx.logger;
      ctx.io = { out: (line) => logger.info(line), err: (line) => logger.error(line) };
    }
    return await runCommand(ctx, name, flags, argument);
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

type Flags = Record<string, string | boolean | undefined>;

/** One command, its module loaded on demand. */
async function runCommand(ctx: CliContext, name: string, flags: Flags, argument?: string): Promise<number> {
  switch (name) {
    case 'login':
      return (await import('./login.js')).login(ctx, {
        code: text(flags, 'code'),
        noBrowser: flag(flags, 'no-browser'),
        device: flag(flags, 'device'),
      });
    case 'logout':
      return (await import('./login.js')).logout(ctx);
    case 'start':
      return (await import('./run.js')).start(ctx, {
        dir: text(flags, 'dir'),
        detach: flag(flags, 'detach'),
        create: flag(flags, 'create'),
      });
    case 'stop':
      return (await import('./run.js')).stop(ctx, { dir: text(flags, 'dir') });
    case 'pause':
    case 'resume':
      return (await import('./run.js')).switchSync(ctx, name === 'resume');
    case 'status':
      return (await import('./status.js')).status(ctx, { json: flag(flags, 'json') });
    case 'sync':
      return (await import('./sync.js')).sync(ctx, {
        dir: text(flags, 'dir'),
        dryRun: flag(flags, 'dry-run'),
        allowDeletes: flag(flags, 'allow-deletes'),
      });
    case 'doctor':
      return (await import('./doctor.js')).doctor(ctx, { dir: text(flags, 'dir') });
    case 'restore':
      return (await import('./restore.js')).restore(ctx, argument, {
        list: flag(flags, 'list'),
        version: text(flags, 'version'),
      });
    case 'log':
      return (await import('./log.js')).log(ctx, { follow: flag(flags, 'follow') });
    case 'search':
      return (await import('./search.js')).search(ctx, argument, {
        limit: text(flags, 'limit'),
        json: flag(flags, 'json'),
      });
  }
  return EXIT.usage;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  const code = await run(process.argv.slice(2));
  // stdin (a pasted code), a keep-alive socket or a browser opener must not keep a finished command alive.
  process.exit(code);
}
