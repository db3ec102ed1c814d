// `npm run platform -- <command>`: run the reference platform server and administer its accounts and sites.

import { parseArgs } from 'node:util';
import { checkSiteName } from '../../protocol/index.js';
import type { Account } from '../types.js';
import { type AccountChanges, AccountError, checkPlan, openAccountStore, type Plan } from './accounts.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_PORT,
  dataPaths,
  type ExternalStores,
  externalStoresFromEnv,
  openReferenceStores,
  startReferenceServer,
} from './server.js';

const USAGE = `Usage: npm run platform -- <command>

  serve [--host ${DEFAULT_HOST}] [--port ${DEFAULT_PORT}] [--data DIR] [--postgres URL --s3 URL]
      run the reference platform server (Ctrl-C stops it); with --postgres and --s3 (or HYPERCLAY_POSTGRES_URL
      and HYPERCLAY_S3_URL) sync data lives in PostgreSQL + S3, so several servers can share it
  user add --email E --password P [--plan paid|free] [--max-sites N|unlimited] [--max-storage BYTES|unlimited] [--data DIR]
  user set --email E [--plan paid|free] [--max-sites N|unlimited] [--max-storage BYTES|unlimited] [--data DIR]
  user list [--data DIR]
  site delete --email E --name N [--data DIR] [--postgres URL --s3 URL]
      delete a site on the platform (clients receive a tombstone; its versions are kept)

The data folder defaults to ${DEFAULT_DATA_DIR}/ in the current folder.`;

/** Bad usage: exit code 2, with the usage text. */
class UsageError extends Error {}
/** A failure the user can act on: exit code 1, the message only. */
class CommandError extends Error {}

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): Values {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as Values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

function optionalString(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A count or `unlimited`; undefined when the option is absent. */
function limit(values: Values, name: string): number | null | undefined {
  const value = optionalString(values, name);
  if (value === undefined) return undefined;
  if (value === 'unlimited' || value === 'none') return null;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} must be a whole number or "unlimited", not "${value}".`);
  }
  return Number(value);
}

function plan(values: Values): Plan | undefined {
  const value = optionalString(values, 'plan');
  if (value === undefined) return undefined;
  try {
    return checkPlan(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** --plan, --max-sites and --max-storage as account changes; an absent option is left out (no change). */
function accountChanges(values: Values): AccountChanges {
  const newPlan = plan(values);
  const maxSites = limit(values, 'max-sites');
  const maxStorageBytes = limit(values, 'max-storage');
  return {
    ...(newPlan ? { plan: newPlan } : {}),
    ...(maxSites !== undefined ? { maxSites } : {}),
    ...(maxStorageBytes !== undefined ? { maxStorageBytes } : {}),
  };
}

function port(values: Values): number {
  const value = optionalString(values, 'port');
  if (value === undefined) return DEFAULT_PORT;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new UsageError(`--port must be a number from 0 to 65535, not "${value}".`);
  return n;
}

const dataDir = (values: Values): string => optionalString(values, 'data') ?? DEFAULT_DATA_DIR;
const DATA = { data: { type: 'string' } } as const;
const EXTERNAL = { postgres: { type: 'string' }, s3: { type: 'string' } } as const;

/** --postgres and --s3 together, else the environment's pair, else null (embedded storage). */
function external(values: Values): ExternalStores | null {
  const postgres = optionalString(values, 'postgres');
  const s3 = optionalString(values, 's3');
  if (postgres === undefined && s3 === undefined) {
    try {
      return externalStoresFromEnv();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  if (!postgres || !s3)
    throw new UsageError('--postgres and --s3 go together (PostgreSQL for metadata, S3 for content).');
  return { postgres, s3 };
}
const LIMITS = {
  plan: { type: 'string' },
  'max-sites': { type: 'string' },
  'max-storage': { type: 'string' },
} as const;

function describe(account: Account): string {
  const sites = account.maxSites === null ? 'unlimited' : String(account.maxSites);
  const storage = account.maxStorageBytes === null ? 'unlimited' : `${account.maxStorageBytes} bytes`;
  return `${account.email} id=${account.id} plan=${account.plan} max-sites=${sites} max-storage=${storage}`;
}

async function withStores<T>(
  dir: string,
  work: (stores: Awaited<ReturnType<typeof openReferenceStores>>) => Promise<T>,
  externalStores: ExternalStores | null = null,
): Promise<T> {
  const stores = await openReferenceStores(dir, externalStores);
  try {
    return await work(stores);
  } finally {
    await stores.close();
  }
}

async function serveCommand(args: string[]): Promise<void> {
  const values = parse(args, { host: { type: 'string' }, port: { type: 'string' }, ...DATA, ...EXTERNAL });
  const externalStores = external(values);
  const server = await startReferenceServer({
    host: optionalString(values, 'host') ?? DEFAULT_HOST,
    port: port(values),
    dataDir: dataDir(values),
    external: externalStores,
  });
  const where = externalStores ? ', sync data: PostgreSQL + S3' : '';
  process.stdout.write(`Hyperclay reference platform at ${server.publicUrl} (data: ${dataDir(values)}${where})\n`);
  const accounts = openAccountStore({ dir: dataPaths(dataDir(values)).accounts });
  const none = accounts.list().length === 0;
  accounts.close();
  if (none) process.stdout.write('No accounts yet: add one with npm run platform -- user add --email E --password P\n');
  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      process.stdout.write(`${signal}: stopping\n`);
      server.close().then(done, (error: Error) => {
        process.stderr.write(`Error while stopping: ${error.message}\n`);
        process.exitCode = 1;
        done();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function userCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'add') {
    const values = parse(rest, { email: { type: 'string' }, password: { type: 'string' }, ...LIMITS, ...DATA });
    const email = required(values, 'email');
    const password = required(values, 'password');
    const changes = accountChanges(values);
    const account = await withStores(dataDir(values), ({ accounts }) =>
      accounts.create({ email, password, ...changes }),
    );
    process.stdout.write(`Added ${describe(account)}\n`);
    return;
  }
  if (sub === 'set') {
    const values = parse(rest, { email: { type: 'string' }, ...LIMITS, ...DATA });
    const email = required(values, 'email');
    const changes = accountChanges(values);
    if (Object.keys(changes).length === 0) {
      throw new UsageError('Nothing to change: pass --plan, --max-sites or --max-storage.');
    }
    const account = await withStores(dataDir(values), async ({ accounts }) => accounts.update(email, changes));
    process.stdout.write(`Updated ${describe(account)}\n`);
    return;
  }
  if (sub === 'list') {
    const values = parse(rest, DATA);
    const list = await withStores(dataDir(values), async ({ accounts }) => accounts.list());
    if (list.length === 0)
      process.stdout.write('No accounts yet. Add one with: npm run platform -- user add --email E --password P\n');
    for (const account of list) process.stdout.write(`${describe(account)}\n`);
    return;
  }
  throw new UsageError(
    sub === undefined ? 'user needs a subcommand: add, set or list.' : `Unknown user command "${sub}".`,
  );
}

async function siteCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'delete') {
    throw new UsageError(sub === undefined ? 'site needs a subcommand: delete.' : `Unknown site command "${sub}".`);
  }
  const values = parse(rest, { email: { type: 'string' }, name: { type: 'string' }, ...DATA, ...EXTERNAL });
  const email = required(values, 'email');
  const name = required(values, 'name');
  const checked = checkSiteName(name);
  if (!checked.ok) throw new UsageError(`"${name}" is not a site name: ${checked.message}.`);
  const tombstone = await withStores(
    dataDir(values),
    async ({ accounts, storage }) => {
      const account = accounts.byEmail(email);
      if (!account) throw new CommandError(`No account has the email ${email}.`);
      const entry = await storage.deleteEntry(account.id, 'site', name);
      if (!entry) throw new CommandError(`${email} has no site named "${name}".`);
      return entry;
    },
    external(values),
  );
  process.stdout.write(
    `Deleted site "${name}" of ${email} (${tombstone.path}); clients receive the tombstone at their next poll.\n`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === 'serve') await serveCommand(args);
    else if (command === 'user') await userCommand(args);
    else if (command === 'site') await siteCommand(args);
    else if (command === 'help' || command === '--help' || command === '-h') process.stdout.write(`${USAGE}\n`);
    else throw new UsageError(command === undefined ? 'No command given.' : `Unknown command "${command}".`);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof AccountError && error.code.startsWith('invalid_'))) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof CommandError || error instanceof AccountError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    process.stderr.write(`Failed: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
