// A sync engine alone in its own process, as `hyperclay-sync start` runs it: started on an already synced folder,
// watching it; prints its resident memory once idle. Spawned by engine-bench.ts (one JSON argument).

import { createApiClient } from '../sync-engine/endpoints.js';
import { createSyncEngine } from '../sync-engine/engine.js';
import { StatusModel } from '../sync-engine/status.js';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  token: string;
  accountId: string;
  folder: string;
  stateFile: string;
};
const saved = {
  token: args.token,
  origin: args.url,
  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  obtainedAtMs: Date.now(),
};
const baseline = process.memoryUsage().rss;
const api = createApiClient({ origin: args.url, getToken: () => saved, clientVersion: '0.1.0' });
const engine = createSyncEngine({
  api,
  folder: args.folder,
  accountId: args.accountId,
  status: new StatusModel(),
  stateFile: args.stateFile,
  log: () => {},
  deviceName: 'bench watch',
  pollSeconds: 10,
});
await engine.start();
await engine.idle();
await new Promise((resolve) => setTimeout(resolve, 3000));
(globalThis as { gc?: () => void }).gc?.();
const memory = process.memoryUsage();
process.stdout.write(`${JSON.stringify({ rss: memory.rss, heapUsed: memory.heapUsed, baseline })}\n`);
await engine.stop();
api.close();
