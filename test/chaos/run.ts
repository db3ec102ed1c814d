// `npm run chaos -- --ops N --seed S [--clients 3] [--keep]` and `npm run chaos -- --soak MINUTES`: the command
// line of the randomized fault run and of the soak; Ctrl-C ends every process it started and unmounts its disks.

import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { InterruptedError, runChaos } from './chaos.js';
import { runSoak } from './soak.js';
import type { World } from './world.js';

const USAGE = `Usage: npm run chaos -- [--ops N] [--seed S] [--clients N] [--keep] [--settle SECONDS]
       npm run chaos -- --soak MINUTES [--clients N] [--keep]`;

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not "${value}"`);
  return n;
}

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        ops: { type: 'string' },
        seed: { type: 'string' },
        clients: { type: 'string' },
        keep: { type: 'boolean' },
        settle: { type: 'string' },
        soak: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  let world: World | null = null;
  let firstSignalMs = 0;
  const onSignal = (signal: string) => {
    // tsx relays the terminal's Ctrl-C to this process too: the same Ctrl-C can arrive twice within a few ms.
    if (firstSignalMs > 0 && Date.now() - firstSignalMs < 1000) return;
    const again = firstSignalMs > 0;
    firstSignalMs ||= Date.now();
    process.stderr.write(`chaos: ${signal}: ending every process and unmounting the disks\n`);
    if (again || !world) {
      world?.teardownNow();
      process.exit(130);
    }
    void world.teardown(values.keep === true).finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const print = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const clients = Math.max(3, Math.floor(positive(text('clients'), 'clients', 3)));
    const keep = values.keep === true;
    const onWorld = (w: World) => {
      world = w;
    };
    if (text('soak') !== undefined) {
      const minutes = positive(text('soak'), 'soak', 1);
      const result = await runSoak({ minutes, clients, keep, print, onWorld });
      return result.ok ? 0 : 1;
    }
    const seedText = text('seed');
    const seed = seedText === undefined ? randomInt(1, 2 ** 31) : Math.floor(positive(seedText, 'seed', 1));
    const result = await runChaos({
      ops: Math.floor(positive(text('ops'), 'ops', 300)),
      seed,
      clients,
      keep,
      settleMs: positive(text('settle'), 'settle', 60) * 1000,
      print,
      onWorld,
    });
    return result.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof InterruptedError) return 130;
    process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

process.exit(await main());
