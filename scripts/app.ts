// `npm run app`: builds the desktop app, makes sure Electron and the reference platform server are there, and starts
// the app against it. Where Electron cannot be had, says so in one sentence and names the headless command.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, ROOT } from '../build/build-app.js';

const SERVER_URL = process.env.HYPERCLAY_URL ?? 'http://127.0.0.1:4321';
const HEADLESS = 'npm run sync -- start';

/** The Electron binary's path, or null when its install script never fetched it. */
function electronBinary(root = ROOT): string | null {
  const pathFile = join(root, 'node_modules', 'electron', 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(root, 'node_modules', 'electron', 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

function ensureElectron(): string | null {
  const found = electronBinary();
  if (found !== null) return found;
  process.stdout.write('Fetching the Electron binary (first run only)...\n');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'electron', 'install.js')], {
    cwd: ROOT,
    env,
    stdio: 'ignore',
  });
  return electronBinary();
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/sync/health', url), { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function ensureServer(): Promise<ChildProcess | null> {
  if (await healthy(SERVER_URL)) return null;
  const url = new URL(SERVER_URL);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new Error(`${SERVER_URL} does not answer, and only a local reference server can be started from here.`);
  }
  process.stdout.write(`Starting the reference platform server on ${SERVER_URL} ...\n`);
  const server = spawn('npm', ['run', 'platform', '--', 'serve', '--port', url.port || '4321'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  for (let i = 0; i < 120; i++) {
    if (await healthy(SERVER_URL)) return server;
    if (server.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  server.kill();
  throw new Error(`The reference server did not start on ${SERVER_URL}; run \`npm run platform -- serve\` to see why.`);
}

async function main(): Promise<number> {
  await buildApp();
  const electron = ensureElectron();
  if (electron === null) {
    process.stderr.write(
      `The Electron binary could not be downloaded, so the desktop app cannot run on this machine; use the headless sync instead: ${HEADLESS}\n`,
    );
    return 1;
  }
  const server = await ensureServer();
  const app = spawn(electron, [ROOT], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, HYPERCLAY_URL: SERVER_URL, NODE_ENV: 'development' },
  });
  const stop = (): void => {
    app.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise<number>((resolve) => app.on('exit', (exitCode) => resolve(exitCode ?? 1)));
  server?.kill('SIGINT');
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
