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
  | 'restore'
  | 'search'
  | 'doctor'
  | 'log';

type FlagSpec = { type: 'boolean'; short?: string } | { type: 'string'; short?: string };

interface CommandSpec {
  summary: string;
  usage: string;
  /** The one positional argument the command takes, if any; `words`: every positional, joined by spaces. */
  argument?: { name: string; help: string; words?: boolean };
  flags: Record<string, FlagSpec & { help: string }>;
  /** Command lines a user would type, each with what it does. */
  examples: Array<[string, string]>;
}

const DIR_HELP = 'the folder to sync: an existing folder (saved as the default once the command succeeds)';

export const COMMANDS: Record<CommandName, CommandSpec> = {
  login: {
    summary: 'sign in through the browser (prints the address to open), or with a short code on any device',
    usage: 'hyperclay-sync login [--no-browser] [--code K] [--device]',
    flags: {
      'no-browser': { type: 'boolean', help: 'print the sign-in address without opening a browser' },
      code: {
        type: 'string',
        help: 'finish a sign-in started by an earlier `login` with the code the browser page shows',
      },
      device: {
        type: 'boolean',
        help: 'for a machine without a browser: prints an address and a short code to enter on any device',
      },
    },
    examples: [
      ['hyperclay-sync login', 'open the sign-in page in your browser and wait'],
      ['hyperclay-sync login --no-browser', 'print the address only (open it on this computer yourself)'],
      ['hyperclay-sync login --code K7PX-Q2MD', 'finish with the code the page showed, from another terminal'],
      ['hyperclay-sync login --device', 'on a server: open the printed address on your phone or laptop, type the code'],
    ],
  },
  logout: {
    summary: 'revoke this device on the platform and forget the sign-in (a running sync stops)',
    usage: 'hyperclay-sync logout',
    flags: {},
    examples: [['hyperclay-sync logout', 'sign out; says so if the platform could not be told']],
  },
  start: {
    summary: 'sync continuously, in this terminal (Ctrl-C stops) or in the background',
    usage: 'hyperclay-sync start [--dir D [--create]] [--detach]',
    flags: {
      dir: { type: 'string', help: DIR_HELP },
      create: { type: 'boolean', help: 'make the folder first if it does not exist' },
      detach: { type: 'boolean', help: 'run in the background; `hyperclay-sync stop` ends it' },
    },
    examples: [
      ['hyperclay-sync start', 'sync the saved folder (first time: ~/Hyperclay) until Ctrl-C'],
      ['hyperclay-sync start --dir ~/Sites', 'sync ~/Sites (it must exist) and keep it as the folder'],
      ['hyperclay-sync start --dir ~/Sites --create', 'make ~/Sites first, then sync it'],
      ['hyperclay-sync start --detach', 'sync in the background; see it with `hyperclay-sync status`'],
    ],
  },
  stop: {
    summary: 'stop the background sync cleanly',
    usage: 'hyperclay-sync stop [--dir D]',
    flags: { dir: { type: 'string', help: 'the folder whose sync to stop (default: the saved folder)' } },
    examples: [['hyperclay-sync stop', 'stop the sync `start --detach` began']],
  },
  pause: {
    summary: 'switch the running sync off (it keeps the folder; it stays off across restarts until resume)',
    usage: 'hyperclay-sync pause',
    flags: {},
    examples: [['hyperclay-sync pause', 'nothing is pushed or pulled until `hyperclay-sync resume`']],
  },
  resume: {
    summary: 'switch a paused sync on again',
    usage: 'hyperclay-sync resume',
    flags: {},
    examples: [['hyperclay-sync resume', 'sync again: what changed meanwhile goes both ways']],
  },
  status: {
    summary: 'who is signed in, the folder, whether sync runs, last sync, pending, errors',
    usage: 'hyperclay-sync status [--json]',
    flags: { json: { type: 'boolean', help: 'print one JSON object instead of lines' } },
    examples: [
      ['hyperclay-sync status', 'the phase, last sync, and the files pending or not syncing'],
      ['hyperclay-sync status --json', 'the same as one JSON object, for scripts'],
    ],
  },
  sync: {
    summary: 'one full sync of the folder, then exit',
    usage: 'hyperclay-sync sync [--dir D] [--dry-run] [--allow-deletes]',
    flags: {
      dir: { type: 'string', help: DIR_HELP },
      'dry-run': { type: 'boolean', help: 'print what would be pushed and pulled; change nothing' },
      'allow-deletes': { type: 'boolean', help: 'apply the removals the delete brake held back' },
    },
    examples: [
      ['hyperclay-sync sync', 'push and pull everything that changed, then exit'],
      ['hyperclay-sync sync --dry-run', 'show what would move, change nothing (works while a sync runs)'],
      ['hyperclay-sync sync --dir ~/Sites', 'sync another existing folder once'],
    ],
  },
  restore: {
    summary: 'list the earlier copies of a file, or put one back (it then syncs as a save)',
    usage: 'hyperclay-sync restore PATH (--list | --version ID)',
    argument: { name: 'PATH', help: 'the file, relative to the sync folder (or a path inside it)' },
    flags: {
      list: { type: 'boolean', help: 'list the copies, newest first: local backups and platform versions' },
      version: {
        type: 'string',
        help: 'put back the copy with this ID (from --list); the current file is backed up first',
      },
    },
    examples: [
      ['hyperclay-sync restore blog/hello.html --list', 'the copies of blog/hello.html, each with its ID'],
      ['hyperclay-sync restore blog/hello.html --version 2026-11-28-14-02-11-123+0100', 'put that local backup back'],
    ],
  },
  search: {
    summary: "search your text files on the platform (sites and text uploads): each match's path and a snippet",
    usage: 'hyperclay-sync search TEXT [--limit N] [--json]',
    argument: {
      name: 'TEXT',
      help: 'the words to find (each as the start of a word, any case and accents; all of them must be in a file)',
      words: true,
    },
    flags: {
      limit: { type: 'string', help: `at most this many matches, best first (1-100; default 20)` },
      json: { type: 'boolean', help: 'print one JSON object {results: [{entry, snippet, score}]} instead of lines' },
    },
    examples: [
      ['hyperclay-sync search recipe', 'files with a word starting with "recipe", best first'],
      ['hyperclay-sync search "cafe menu" --limit 5', 'the 5 best files holding both words (café counts too)'],
      ['hyperclay-sync search invoice --json', 'the matches as JSON, for scripts'],
    ],
  },
  doctor: {
    summary: 'check the folder, permissions, platform, sign-in, clock and watcher limits',
    usage: 'hyperclay-sync doctor [--dir D]',
    flags: { dir: { type: 'string', help: 'the folder to check (default: the saved folder)' } },
    examples: [['hyperclay-sync doctor', 'one line per check, ✓ or ✗ with what to do']],
  },
  log: {
    summary: "print the log file's path, or follow the log",
    usage: 'hyperclay-sync log [-f]',
    flags: { follow: { type: 'boolean', short: 'f', help: 'print new log lines as they come (Ctrl-C stops)' } },
    examples: [
      ['hyperclay-sync log', "the log file's path"],
      ['hyperclay-sync log -f', 'follow the log, across its rotation'],
      ['less "$(hyperclay-sync log)"', 'read the whole log'],
    ],
  },
};

/** The examples block of a help text. */
function exampleLines(examples: Array<[string, string]>): string[] {
  const width = Math.min(48, Math.max(...examples.map(([line]) => line.length)));
  return examples.map(([line, what]) =>
    line.length > width ? `  ${line}\n  ${' '.repeat(width)}  # ${what}` : `  ${line.padEnd(width)}  # ${what}`,
  );
}

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
    'Examples:',
    ...exampleLines([
      ['hyperclay-sync login', 'sign in (once)'],
      ['hyperclay-sync start', 'sync ~/Hyperclay until Ctrl-C'],
      ['hyperclay-sync status', 'what the running sync is doing'],
      ['hyperclay-sync restore hello.html --list', 'the earlier copies of a file'],
    ]),
    '',
    'Run `hyperclay-sync <command> --help` for its flags and examples.',
    'Environment: HYPERCLAY_URL (the platform), HYPERCLAY_SYNC_HOME (settings, state and logs).',
    'Exit codes: 0 done, 1 failed, 2 bad usage, 3 not signed in, 4 platform unreachable.',
  ].join('\n');
}

export function commandHelp(name: CommandName): string {
  const spec = COMMANDS[name];
  const flags = Object.entries(spec.flags).map(([flag, f]) => {
    const long = f.type === 'string' ? `--${flag} <value>` : `--${flag}`;
    const label = f.short ? `-${f.short}, ${long}` : long;
    return `  ${label.padEnd(20)}  ${f.help}`;
  });
  const argument = spec.argument ? ['Argument:', `  ${spec.argument.name.padEnd(20)}  ${spec.argument.help}`, ''] : [];
  return [
    `Usage: ${spec.usage}`,
    '',
    `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
    '',
    ...argument,
    'Flags:',
    ...flags,
    `  ${'-h, --help'.padEnd(20)}  show this help`,
    '',
    'Examples:',
    ...exampleLines(spec.examples),
  ].join('\n');
}

export type Parsed =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | {
      kind: 'command';
      name: CommandName;
      flags: Record<string, string | boolean | undefined>;
      /** The positional argument (only commands with one take it). */
      argument?: string;
    };

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
  for (const [flag, f] of Object.entries(spec.flags))
    options[flag] = f.short ? { type: f.type, short: f.short } : { type: f.type };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true }));
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
  const more = `Run \`hyperclay-sync ${first} --help\` for its usage.`;
  if (!spec.argument && positionals.length > 0) {
    throw new CliError(EXIT.usage, 'bad_usage', `\`${first}\` takes no argument, got "${positionals[0]}". ${more}`);
  }
  if (spec.argument?.words && positionals.length > 0) {
    return { kind: 'command', name: first, flags: values, argument: positionals.join(' ') };
  }
  if (spec.argument && positionals.length !== 1) {
    const got = positionals.length === 0 ? 'none' : positionals.map((p) => `"${p}"`).join(', ');
    throw new CliError(EXIT.usage, 'bad_usage', `\`${first}\` takes one ${spec.argument.name}, got ${got}. ${more}`);
  }
  return {
    kind: 'command',
    name: first,
    flags: values,
    ...(positionals[0] === undefined ? {} : { argument: positionals[0] }),
  };
}
