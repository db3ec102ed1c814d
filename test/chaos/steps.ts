// Carries a chaos schedule out against the world, step by step: user operations in the folders, edits and deletes
// on the platform, faults and their ends. Records what the platform acknowledged and each step's outcome.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ack } from './check.js';
import { FAULT_TYPES, type Op } from './ops.js';
import { sleep } from './processes.js';
import { describeStep, type Schedule } from './schedule.js';
import { contentOf, sha256 } from './user-ops.js';
import type { World } from './world.js';

export class StepRunner {
  readonly acks: Ack[] = [];
  /** Fault steps carried out. */
  faults = 0;
  /** Fault steps by kind, for the report. */
  readonly faultKinds = new Map<string, number>();
  /** Things a step could not do that the report should mention (a stop that did not stop, a hook not there). */
  readonly problems: string[] = [];
  readonly #world: World;
  readonly #journal: string;
  readonly #background: Array<Promise<unknown>> = [];
  #deletes: Promise<unknown> = Promise.resolve();

  constructor(world: World) {
    this.#world = world;
    this.#journal = join(world.logs, 'steps.log');
  }

  note(line: string): void {
    appendFileSync(this.#journal, `${new Date().toISOString()} ${line}\n`);
  }

  /**
   * Every step in order, each after its gap; then waits for what runs in the background (restarts, deletes). The
   * gaps are kept on one timeline: a slow step (or a late timer on a busy machine) is made up by the next gaps.
   */
  async runAll(schedule: Schedule): Promise<void> {
    let due = Date.now();
    for (const [index, step] of schedule.steps.entries()) {
      due += step.gapMs;
      await sleep(Math.max(0, due - Date.now()));
      if (this.#world.ending) throw new Error('interrupted');
      let outcome: string;
      try {
        outcome = await this.#step(step.op);
      } catch (error) {
        outcome = `failed: ${String(error)}`;
      }
      if (FAULT_TYPES.has(step.op.t)) {
        this.faults++;
        this.faultKinds.set(step.op.t, (this.faultKinds.get(step.op.t) ?? 0) + 1);
      }
      this.note(`${describeStep(step, index)} -> ${outcome}`);
    }
    await Promise.allSettled([...this.#background, this.#deletes]);
  }

  #later(work: Promise<unknown>): string {
    this.#background.push(work);
    return 'started';
  }

  async #step(op: Op): Promise<string> {
    const w = this.#world;
    switch (op.t) {
      case 'create':
      case 'edit':
      case 'append':
      case 'truncate':
      case 'delete':
      case 'rename':
      case 'mkdir':
      case 'rmdir':
      case 'editorSave':
      case 'burst':
      case 'syncedEdit':
        return w.users[op.c]!.run(op);
      case 'platformSave':
        return this.#platformSave(op.account, op.name, contentOf(op.content));
      case 'siteDelete': {
        const account = w.accounts[op.account]!;
        this.#deletes = this.#deletes.then(async () => {
          const deleted = await w.platform.deleteSite(account, op.name);
          this.note(`site delete ${op.name} -> ${deleted ? 'deleted' : 'not deleted'}`);
        });
        return 'queued';
      }
      default:
        return this.#fault(op);
    }
  }

  async #platformSave(account: number, name: string, html: Buffer): Promise<string> {
    const w = this.#world;
    const answer = await w.platform.save(w.accounts[account]!, name, html);
    if (answer.status === 200 && answer.version > 0) {
      this.acks.push({ account, name, sha256: sha256(html), version: answer.version });
    }
    return `${answer.status} v${answer.version}`;
  }

  async #fault(op: Op): Promise<string> {
    const w = this.#world;
    switch (op.t) {
      case 'killClient':
        w.clients[op.c]!.kill();
        return 'killed';
      case 'startClient':
        await w.clients[op.c]!.start();
        return 'started';
      case 'killPlatform':
        w.killPlatform();
        return 'killed';
      case 'startPlatform':
        return this.#later(w.startPlatform());
      case 'unreachable':
        await Promise.all(w.proxies.map((p) => p.refuse(op.ms)));
        return 'refusing';
      case 'proxyFault':
        w.proxies[op.c]!.fault(op.mode, op.ms);
        return op.mode;
      case 'diskFull':
        w.disks[op.c]!.fill();
        return w.disks[op.c]!.mounted ? 'full' : 'not mounted';
      case 'diskFree':
        w.disks[op.c]!.free();
        return 'freed';
      case 'platformDiskFull':
        w.platformDisk.fill();
        return w.platformDisk.mounted ? 'full' : 'not mounted';
      case 'platformDiskFree':
        w.platformDisk.free();
        return 'freed';
      case 'stopStart': {
        const client = w.clients[op.c]!;
        return this.#later(
          client.stopStart().then((problem) => {
            if (problem) this.problems.push(`stop/start: ${problem}`);
          }),
        );
      }
      case 'pause':
        return w.clients[op.c]!.pause(op.ms);
      default:
        return `unknown step ${op.t}`;
    }
  }
}
