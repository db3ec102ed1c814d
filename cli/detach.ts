// `start --detach`'s conversation between the command and the background process it spawns: how the background
// process knows it is one, and the messages it sends back over the IPC channel once it runs (or failed to).

import type { ExitCode } from './errors.js';

/** Set in the environment of the background process `start --detach` spawns. */
export const DETACHED_ENV = 'HYPERCLAY_SYNC_DETACHED';

/** What the background process tells `start --detach` over the IPC channel. */
export type DetachMessage = { type: 'running'; pid: number } | { type: 'failed'; exitCode: ExitCode; message: string };

/** True in the background process of `start --detach` while its parent still listens. */
export const isDetachedChild = (): boolean => process.env[DETACHED_ENV] === '1' && typeof process.send === 'function';

export function tellParent(message: DetachMessage): void {
  if (!isDetachedChild() || !process.connected) return;
  try {
    process.send?.(message);
  } catch {}
}

export function parseDetachMessage(value: unknown): DetachMessage | null {
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.type === 'running' && typeof m.pid === 'number') return { type: 'running', pid: m.pid };
  if (m.type === 'failed' && typeof m.message === 'string' && [1, 2, 3, 4].includes(m.exitCode as number)) {
    return { type: 'failed', exitCode: m.exitCode as ExitCode, message: m.message };
  }
  return null;
}
