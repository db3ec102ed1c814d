// `npm start`: the whole product on this machine. The reference platform server (with a demo account on first run;
// its request lines go to its own log file) and the app: the desktop app where Electron and a display are available,
// otherwise the headless sync engine (`hyperclay-sync start`) on a demo folder, signed in as the demo account through
// the real browser sign-in pages, in the same data folder as `npm run sync` (so `status`, `pause`, `log -f` in another
// terminal see it).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { openReferenceStores, startReferenceServer } from '../server-endpoints/reference/server.js';
import { settingsTokenStore } from '../sync-engine/auth.js';
import { loadConfig, type SyncConfig } from '../sync-engine/config.js';
import { createLogger, type Logger } from '../sync-engine/log.js';
import { openSettings } from '../sync-engine/settings.js';
import { createSignIn } from '../sync-engine/sign-in.js';

const ROOT = resolve(import.meta.dirname, '..');
// `npm run sync` reads `.env` from the checkout: read it the same way, so both use one data folder.
loadDotenv({ quiet: true, path: join(ROOT, '.env') });
const DATA = resolve(process.env.HYPERCLAY_DATA ?? join(ROOT, '.data'));
const PORT = Number(process.env.PORT ?? 4321);
const DEMO = { email: 'demo@example.com', password: 'demo-password' };

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Creates the demo account when the platform has no account yet; returns whether the demo account exists. */
async function seedDemoAccount(serverLog: (line: string) => void): Promise<boolean> {
  const stores = await openReferenceStores(DATA, null, serverLog);
  try {
    if (stores.accounts.list().length === 0) {
      await stores.accounts.create({ email: DEMO.email, password: DEMO.password, plan: 'paid' });
      say(`Created the demo account ${DEMO.email} (password: ${DEMO.password}).`);
    }
    return stores.accounts.byEmail(DEMO.email) !== null;
  } finally {
    await stores.close();
  }
}

function electronAvailable(): boolean {
  const pathFile = join(ROOT, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(pathFile)) return false;
  return existsSync(join(ROOT, 'node_modules', 'electron', 'dist', readFileSync(pathFile, 'utf8').trim()));
}

function hasDisplay(): boolean {
  return process.platform === 'darwin' || process.platform === 'win32' || Boolean(process.env.DISPLAY);
}

/**
 * The data folder's sign-in for this platform: kept if there is one; a sign-in for another platform is never replaced
 * behind its owner's back (null: refused, with the sentence printed).
 */
function checkHome(config: SyncConfig): boolean {
  const account = openSettings(config.paths.home).tokens.account();
  if (account === null || account.origin === config.origin) return true;
  process.stderr.write(
    `npm start: the data folder ${config.paths.home} is signed in to ${account.origin} as ${account.user.email}; signing the demo in there would replace that. Log out first (npm run sync -- logout), or give npm start its own data folder: HYPERCLAY_SYNC_HOME=.data/home npm start (and the same variable for npm run sync).\n`,
  );
  return false;
}

/** Signs the headless client in as the demo account, exactly as a browser would: login, Allow, loopback callback. */
async function signInDemo(origin: string, home: string): Promise<void> {
  const settings = openSettings(home);
  const tokens = settingsTokenStore(settings.tokens, origin);
  if (tokens.load() !== null) return;
  const signIn = createSignIn({
    origin,
    redirectUri: 'loopback',
    deviceName: 'npm start (headless)',
    tokenStore: tokens,
  });
  const listener = await signIn.startLoopbackListener({ timeoutMs: 30_000 });
  try {
    const toLogin = await fetch(listener.authorizeUrl, { redirect: 'manual' });
    const loginUrl = new URL(toLogin.headers.get('location') ?? '/login', origin);
    const login = await fetch(new URL('/login', origin), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({ ...DEMO, next: loginUrl.searchParams.get('next') ?? '/' }),
    });
    const cookie = /hc_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
    if (!cookie) throw new Error(`the demo account could not log in (${login.status})`);
    const consent = await (await fetch(listener.authorizeUrl, { headers: { cookie } })).text();
    const fields = new URLSearchParams();
    for (const match of consent.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.set(match[1]!, decodeEntities(match[2]!));
    }
    fields.set('decision', 'allow');
    const allowed = await fetch(new URL('/sync/authorize', origin), {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: fields,
    });
    const callback = /<a id="callback"[^>]* href="([^"]+)"/.exec(await allowed.text())?.[1];
    if (!callback) throw new Error(`the consent page did not answer with a code (${allowed.status})`);
    await fetch(decodeEntities(callback));
    await signIn.exchange(await listener.code);
    say(`Signed the headless client in as ${DEMO.email}.`);
  } finally {
    await listener.close();
  }
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : "'",
  );
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'inherit' });
}

/** The server's request lines go to their own file, never between the sync's lines. */
function openServerLog(): Logger {
  return createLogger({ file: join(DATA, 'logs', 'server.log') });
}

async function main(): Promise<number> {
  mkdirSync(DATA, { recursive: true, mode: 0o700 });
  const serverLog = openServerLog();
  const logLine = (line: string): void => serverLog.info(line);
  const demo = await seedDemoAccount(logLine);
  const server = await startReferenceServer({ host: '127.0.0.1', port: PORT, dataDir: DATA, log: logLine });
  const origin = server.url;
  say(`Reference platform: ${server.publicUrl} (data in ${DATA}; its request log: ${serverLog.file})`);
  try {
    return await runApp(server.publicUrl, origin, demo);
  } finally {
    await server.close();
    await serverLog.close();
  }
}

/** The desktop app, or the headless sync; resolves with its exit code once it ends (Ctrl-C ends it). */
async function runApp(publicUrl: string, origin: string, demo: boolean): Promise<number> {
  let child: ChildProcess;
  if (electronAvailable() && hasDisplay()) {
    say('Starting the desktop app.');
    child = run('npm', ['run', 'app'], { HYPERCLAY_URL: origin });
  } else {
    say(
      electronAvailable()
        ? 'No display: running the headless sync engine instead of the desktop app.'
        : 'The Electron binary is not installed here: running the headless sync engine instead of the desktop app.',
    );
    // The data folder `npm run sync` uses too (HYPERCLAY_SYNC_HOME, else the platform's config folder).
    const config = loadConfig({ env: { ...process.env, HYPERCLAY_URL: origin }, envFile: false });
    if (!checkHome(config)) return 1;
    const folder = join(DATA, 'Hyperclay');
    mkdirSync(folder, { recursive: true });
    if (demo) await signInDemo(origin, config.paths.home);
    const sameUrl = process.env.HYPERCLAY_URL?.replace(/\/+$/, '') === origin;
    const cli = `${sameUrl ? '' : `HYPERCLAY_URL=${origin} `}npm run sync --`;
    say(`Syncing ${folder} with ${publicUrl}: save a file there, or edit a site on the platform.`);
    say(`  sync folder: ${folder}`);
    say(`  sync log:    ${config.paths.logFile}`);
    say(`  sync data:   ${config.paths.home} (settings, state, status)`);
    say(`  in another terminal: ${cli} status   (or log -f, pause, resume, restore FILE --list)`);
    say(`Sign in on ${publicUrl} as ${DEMO.email} / ${DEMO.password} to see the sites. Ctrl-C stops.`);
    child = run(process.execPath, [join(ROOT, 'bin', 'hyperclay-sync.js'), 'start', '--dir', folder], {
      HYPERCLAY_URL: origin,
      HYPERCLAY_SYNC_HOME: config.paths.home,
    });
  }

  process.on('SIGTERM', () => child.kill('SIGTERM'));
  // Ctrl-C in the terminal reaches the child too (one process group), and a second signal would make it stop at
  // once: pass it on only if the child is still there after a while (a SIGINT sent to this process alone).
  process.on('SIGINT', () => setTimeout(() => child.exitCode === null && child.kill('SIGTERM'), 10_000).unref());
  return new Promise<number>((done) => child.on('exit', (exit) => done(exit ?? 0)));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
