// Issue 8's randomized fault run in the test suite (SPEC.md "The promises": nothing is ever lost): 300 operations
// with faults against the real platform and three real `hyperclay-sync start` processes, on a fixed seed and on a
// random one (printed, so a failure can be run again), each ending with nothing lost and every folder converged.

import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ChaosResult, rerunCommand, runChaos } from './chaos.js';
import { generateSchedule } from './schedule.js';

const FIXED_SEED = 20_261_128;
const OPS = 300;

async function chaos(seed: number): Promise<{ result: ChaosResult; output: string }> {
  const lines: string[] = [];
  const result = await runChaos({
    ops: OPS,
    seed,
    clients: 3,
    keep: false,
    settleMs: 60_000,
    print: (line) => lines.push(line),
  });
  return { result, output: lines.join('\n') };
}

describe('chaos: a randomized fault run of the real system', () => {
  it('the same seed always gives the same schedule', () => {
    const options = { seed: 42, ops: 300, clients: 3, diskFaults: true };
    expect(generateSchedule(options)).toEqual(generateSchedule(options));
    expect(generateSchedule({ ...options, seed: 43 }).steps).not.toEqual(generateSchedule(options).steps);
  });

  it(`${OPS} operations with faults on seed ${FIXED_SEED}: nothing lost, every folder converged`, {
    timeout: 240_000,
  }, async () => {
    const { result, output } = await chaos(FIXED_SEED);
    expect(result.lost, output).toBe(0);
    expect(result.convergedSeconds, output).not.toBeNull();
    expect(result.ok, output).toBe(true);
  });

  it(`${OPS} operations with faults on a random seed: nothing lost, every folder converged`, {
    timeout: 240_000,
  }, async () => {
    const seed = randomInt(1, 2 ** 31);
    process.stdout.write(
      `chaos: random seed ${seed}; run it again with: ${rerunCommand({ ops: OPS, seed, clients: 3 })}\n`,
    );
    const { result, output } = await chaos(seed);
    expect(result.lost, output).toBe(0);
    expect(result.convergedSeconds, output).not.toBeNull();
    expect(result.ok, output).toBe(true);
  });
});
