// Our product against Syncthing on the same 10,000-file tree, in one run: the tree made by
// ../shared/bench-peers/make-tree.sh, Syncthing's initial sync measured by its own script
// (../shared/bench-peers/syncthing-latency.sh, the tree part), and ours as a user runs it: the reference platform
// started by its own command (`npm run platform -- serve`) and the installed `hyperclay-sync` command doing `sync`
// up, `sync` down into an empty folder, and `start` on an empty folder (a watching device joining). Every result is
// checked with tree-sum.sh. Prints each time and the ratio to Syncthing's.
// Run: npm run bench -- vs-syncthing [--runs N] [--syncthing-runs N] [--skip-syncthing]

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { signToken } from '../server-endpoints/auth/tokens.js';
import { openReferenceStores } from '../server-endpoints/reference/server.js';
import { openSettings } from '../sync-engine/settings.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const PEERS = resolve(ROOT, '..', 'shared', 'bench-peers');
const BIN = join(ROOT, 'bin', 'hyperclay-sync.js');
const PLATFORM = join(ROOT, 'dist', 'platform', 'main.mjs');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    'syncthing-runs': { type: 'string', default: '3' },
    'skip-syncthing': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const RUNS = Number(values.runs);

const note = (line: string) => process.stderr.write(`# ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function treeSum(dir: string): Promise<string> {
  return (await run('bash', [join(PEERS, 'tree-sum.sh'), dir])).stdout.trim();
}

function countFiles(dir: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && !entry.name.startsWith('.') && !entry.parentPath.includes('/.')) count++;
  }
  return count;
}

/** Syncthing's initial sync of the tree (its own script, tree part): the median "share" seconds. */
async function syncthingShare(): Promise<number> {
  note('Syncthing: ../shared/bench-peers/syncthing-latency.sh (PARTS=tree), a few minutes');
  const { stdout } = await run('bash', [join(PEERS, 'syncthing-latency.sh')], {
    env: { ...process.env, PARTS: 'tree', TREE_RUNS: values['syncthing-runs'], SEED: values.seed },
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(
    stdout
      .replace(/^RESULT .*$/m, '')
      .trimEnd()
      .concat('\n'),
  );
  const result = JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? '{}') as { tree?: { shareS?: number } };
  if (typeof result.tree?.shareS !== 'number') throw new Error('Syncthing printed no tree result');
  return result.tree.shareS * 1000;
}

interface Platform {
  url: string;
  child: ChildProcess;
  account: { id: string; email: string; token: string };
}

/** The reference platform by its own command, with one account and a token for it. */
async function startPlatform(root: string): Promise<Platform> {
  const data = join(root, 'platform');
  const email = 'bench@example.com';
  await run(process.execPath, [
    PLATFORM,
    'user',
    'add',
    '--email',
    email,
    '--password',
    'bench-password-1',
    '--max-sites',
    'unlimited',
    '--data',
    data,
  ]);
  const stores = await openReferenceStores(data);
  const account = stores.accounts.byEmail(email);
  if (!account) throw new Error('the bench account was not created');
  const sid = await stores.authStore.createConnection(account.id, 'bench');
  const { token } = signToken(stores.tokenSecret, { sub: account.id, sid }, Date.now());
  await stores.close();
  const child = spawn(process.execPath, [PLATFORM, 'serve', '--port', '0', '--data', data], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /http:\/\/localhost:(\d+)/.exec(out)?.[1];
      if (port) done(`http://127.0.0.1:${port}`);
    });
    child.once('exit', (code) => fail(new Error(`the platform exited with ${code}`)));
  });
  // Its request log goes to stdout: drained, not kept.
  child.stdout?.resume();
  return { url, child, account: { id: account.id, email, token } };
}

/** A device: its own data folder, signed in (the token put where `login` puts it). */
function device(root: string, name: string, platform: Platform): NodeJS.ProcessEnv {
  const home = join(root, name);
  const settings = openSettings(home);
  settings.tokens.save({
    token: platform.account.token,
    origin: new URL(platform.url).origin,
    expiresAt: new Date(Date.now() + 9 * 86_400_000).toISOString(),
    issuedAt: new Date().toISOString(),
    user: { id: platform.account.id, email: platform.account.email, plan: 'paid' },
  });
  return { ...process.env, HYPERCLAY_URL: platform.url, HYPERCLAY_SYNC_HOME: home };
}

async function timed(what: string, work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  note(`${what}: ${seconds(ms)}`);
  return ms;
}

/** The resident memory of a process (Linux /proc), in bytes. */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/**
 * `start` on an empty folder until the whole tree is there (checked every 200 ms); `watching` gets the process once
 * it is complete (its memory is read while it watches the whole tree).
 */
async function joinAndWait(
  env: NodeJS.ProcessEnv,
  folder: string,
  want: number,
  watching: (pid: number) => Promise<void>,
): Promise<void> {
  mkdirSync(folder, { recursive: true });
  const child = spawn(process.execPath, [BIN, 'start', '--dir', folder], { env, stdio: 'ignore' });
  try {
    while (countFiles(folder) < want) {
      if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    if (child.pid !== undefined) await watching(child.pid);
  } finally {
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
  }
}

interface Ours {
  up: number;
  down: number;
  join: number;
  /** Resident memory of `start` watching the whole tree, once it has settled. */
  rss: number;
}

async function ours(tree: string, want: string, files: number): Promise<Ours> {
  const root = mkdtempSync(join(tmpdir(), 'hc-vs-'));
  const platform = await startPlatform(root);
  try {
    const up = await timed('ours: sync up', () =>
      run(process.execPath, [BIN, 'sync', '--dir', tree], { env: device(root, 'a', platform) }),
    );
    const downDir = join(root, 'down');
    mkdirSync(downDir);
    const down = await timed('ours: sync down into an empty folder', () =>
      run(process.execPath, [BIN, 'sync', '--dir', downDir], { env: device(root, 'b', platform) }),
    );
    const joinDir = join(root, 'join');
    let rss = Number.NaN;
    let joined = Number.NaN;
    const started = performance.now();
    await joinAndWait(device(root, 'c', platform), joinDir, files, async (pid) => {
      joined = performance.now() - started;
      note(`ours: start on an empty folder until complete: ${seconds(joined)}`);
      // Settled: the catch-up after the first session done and the watcher reading the whole tree.
      await new Promise((r) => setTimeout(r, 10_000));
      rss = rssOf(pid);
      note(`ours: start watching ${files} files: ${(rss / 1024 / 1024).toFixed(0)} MB resident`);
    });
    for (const [what, dir] of [
      ['down', downDir],
      ['join', joinDir],
    ] as const) {
      const sum = await treeSum(dir);
      if (sum !== want) throw new Error(`ours ${what}: ${sum}, expected ${want}`);
    }
    return { up, down, join: joined, rss };
  } finally {
    platform.child.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale']);
  const results: Ours[] = [];
  for (let i = 0; i < RUNS; i++) {
    const tree = mkdtempSync(join(tmpdir(), 'hc-vs-tree-'));
    rmSync(tree, { recursive: true });
    const made = (await run('bash', [join(PEERS, 'make-tree.sh'), tree, values.seed])).stdout.trim();
    note(`tree: ${made}`);
    const files = Number(/files=(\d+)/.exec(made)?.[1]);
    try {
      results.push(await ours(tree, await treeSum(tree), files));
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  }
  const syncthing = values['skip-syncthing'] ? Number.NaN : await syncthingShare();
  const pick = (k: keyof Ours) => median(results.map((r) => r[k]));
  const ratio = (ms: number) => (Number.isNaN(syncthing) ? '' : `  ${(ms / syncthing).toFixed(2)}x Syncthing`);
  console.log(`\nthe 10,000-file tree (seed ${values.seed}), median of ${RUNS} run(s) each, every result tree-summed:`);
  console.log(`  Syncthing 1.19, two instances, share -> all on B   ${seconds(syncthing)}`);
  console.log(`  ours: sync up                                      ${seconds(pick('up'))}${ratio(pick('up'))}`);
  console.log(`  ours: sync down into an empty folder               ${seconds(pick('down'))}${ratio(pick('down'))}`);
  console.log(`  ours: start on an empty folder (device joining)    ${seconds(pick('join'))}${ratio(pick('join'))}`);
  console.log(`  ours: start watching the whole tree, resident       ${(pick('rss') / 1024 / 1024).toFixed(0)} MB`);
}

await main();
