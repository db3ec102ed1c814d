// The command table: each command's flags (for node:util parseArgs) and its --help text, and argument parsing.

import { parseArgs } from 'node:util';
import { CliError, EXIT } from './errors.js';

export type CommandName =
  | 'login'
  | 'logout'
  | 'start'
  | 'stop'
  | 'pause'
  | 'resume'
  | 'status'
  | 'sync'
  | 'doctor'
  | 'log';

type FlagSpec = { type: 'boolean' } | { type: 'string' };

interface CommandSpec {
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec & { help: string }>;
}

export const COMMANDS: Record<CommandName, CommandSpec> = {
  login: {
    summary: 'sign in through the browser (prints the address to open)',
    usage: 'hyperclay-sync login [--no-browser] [--code K]',
    flags: {
      'no-browser': { type: 'boolean', help: 'print the sign-in address without opening a browser' },
      code: {
        type: 'string',
        help: 'finish a sign-in started by an earlier `login` with the code the browser page shows',
      },
    },
  },
  logout: {
    summary: 'revoke this device on the platform and forget the sign-in',
    usage: 'hyperclay-sync logout',
    flags: {},
  },
  start: {
    summary: 'sync continuously, in this terminal (Ctrl-C stops) or in the background',
    usage: 'hyperclay-sync start [--dir D] [--detach]',
    flags: {
      dir: { type: 'string', help: 'the folder to sync (saved as the default for later runs)' },
      detach: { type: 'boolean', help: 'run in the background; `hyperclay-sync stop` ends it' },
    },
  },
  stop: {
    summary: 'stop the background sync cleanly',
    usage: 'hyperclay-sync stop [--dir D]',
    flags: { dir: { type: 'string', help: 'the folder whose sync to stop (default: the saved folder)' } },
  },
  pause: {
    summary: 'switch the running sync off (it keeps the folder; it stays off across restarts until resume)',
    usage: 'hyperclay-sync pause',
    flags: {},
  },
  resume: {
    summary: 'switch a paused sync on again',
    usage: 'hyperclay-sync resume',
    flags: {},
  },
  status: {
    summary: 'who is signed in, the folder, whether sync runs, last sync, pending, errors',
    usage: 'hyperclay-sync status [--json]',
    flags: { json: { type: 'boolean', help: 'print one JSON object instead of lines' } },
  },
  sync: {
    summary: 'one full sync of the folder, then exit',
    usage: 'hyperclay-sync sync [--dir D] [--dry-run] [--allow-deletes]',
    flags: {
      dir: { type: 'string', help: 'the folder to sync (saved as the default for later runs)' },
      'dry-run': { type: 'boolean', help: 'print what would be pushed and pulled; change nothing' },
      'allow-deletes': { type: 'boolean', help: 'apply the removals the delete brake held back' },
    },
  },
  doctor: {
    summary: 'check the folder, permissions, platform, sign-in, clock and watcher limits',
    usage: 'hyperclay-sync doctor [--dir D]',
    flags: { dir: { type: 'string', help: 'the folder to check (default: the saved folder)' } },
  },
  log: {
    summary: "print the log file's path",
    usage: 'hyperclay-sync log',
    flags: {},
  },
};

export const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`);
  return [
    'Usage: hyperclay-sync <command> [flags]',
    '',
    'Keeps a local folder of Hyperclay sites in sync with the platform.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `hyperclay-sync <command> --help` for its flags.',
    'Environment: HYPERCLAY_URL (the platform), HYPERCLAY_SYNC_HOME (settings, state and logs).',
    'Exit codes: 0 done, 1 failed, 2 bad usage, 3 not signed in, 4 platform unreachable.',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec = COMMANDS[name];
  const flags = Object.entries(spec.flags).map(([flag, f]) => {
    const label = f.type === 'string' ? `--${flag} <value>` : `--${flag}`;
    return `  ${label.padEnd(20)}  ${f.help}`;
  });
  return [
    `Usage: ${spec.usage}`,
    '',
    `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
    '',
    'Flags:',
    ...flags,
    `  ${'--help'.padEnd(20)}  show this help`,
  ].join('\n');
}

export type Parsed =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'command'; name: CommandName; flags: Record<string, string | boolean | undefined> };

const usage = (message: string): CliError =>
  new CliError(EXIT.usage, 'bad_usage', `${message} Run \`hyperclay-sync --help\` for the commands.`);

/** Parses argv (without node and the script); throws CliError(2) for anything that is not a known command and flags. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { kind: 'help', text: mainHelp() };
  if (first === '--version' || first === '-v') return { kind: 'version' };
  if (first === 'help') {
    const topic = rest[0];
    if (topic === undefined) return { kind: 'help', text: mainHelp() };
    if (!isCommand(topic)) throw usage(`"${topic}" is not a command.`);
    return { kind: 'help', text: commandHelp(topic) };
  }
  if (first.startsWith('-')) throw usage(`Expected a command before "${first}".`);
  if (!isCommand(first)) throw usage(`"${first}" is not a command.`);
  const spec = COMMANDS[first];
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [flag, f] of Object.entries(spec.flags)) options[flag] = { type: f.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }));
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CliError(
      EXIT.usage,
      'bad_usage',
      `${detail?.replace(/\.?$/, '.')} Run \`hyperclay-sync ${first} --help\` for its flags.`,
    );
  }
  if (values.help === true) return { kind: 'help', text: commandHelp(first) };
  for (const [flag, f] of Object.entries(spec.flags)) {
    const value = values[flag];
    if (f.type === 'string' && typeof value === 'string' && value.trim() === '') {
      throw new CliError(EXIT.usage, 'bad_usage', `--${flag} needs a value. Run \`hyperclay-sync ${first} --help\`.`);
    }
  }
  return { kind: 'command', name: first, flags: values };
}
