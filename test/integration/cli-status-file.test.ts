// The status file a running sync keeps for `hyperclay-sync status`: written on every change, refreshed by the
// heartbeat, marked stopped on close, and never trusted for a process that is gone.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StatusModel } from '../../sync-engine/status.js';
import { readStatusFile, writeStatusFile } from '../../sync-engine/status-file.js';
import { until } from '../helpers/engine.js';

const dir = mkdtempSync(join(tmpdir(), 'hc-cli-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the status file', () => {
  it('follows status changes, beats, and says stopped once closed', async () => {
    const file = join(dir, 'status.json');
    const status = new StatusModel({
      phase: 'syncing',
      folder: '/sites',
      account: { id: 'a1', email: 'a@example.com' },
    });
    const writer = writeStatusFile(file, status, { command: 'start', heartbeatMs: 50 });
    const first = await until(() => readStatusFile(file), 'the first record');
    expect(first).toMatchObject({
      pid: process.pid,
      running: true,
      phase: 'syncing',
      folder: '/sites',
      command: 'start',
    });

    status.pendingChanged(3);
    status.failed('push a.html failed');
    await until(() => readStatusFile(file)?.pending === 3, 'the change to be written');
    expect(readStatusFile(file)?.lastError).toBe('push a.html failed');

    const beat = readStatusFile(file)?.heartbeatAt as string;
    await until(() => (readStatusFile(file)?.heartbeatAt ?? '') > beat, 'a heartbeat');

    await writer.close();
    expect(readStatusFile(file)).toMatchObject({ running: false, pending: 3 });
    expect(JSON.parse(readFileSync(file, 'utf8')).running).toBe(false);
  });

  it('a record left by a process that is gone is not running; a damaged file reads as none', () => {
    const file = join(dir, 'left.json');
    writeFileSync(
      file,
      JSON.stringify({ pid: 2 ** 22 + 12345, running: true, phase: 'syncing', heartbeatAt: new Date().toISOString() }),
    );
    expect(readStatusFile(file)).toMatchObject({ running: false, phase: 'syncing', pending: 0 });
    writeFileSync(file, '{"pid": "12", ');
    expect(readStatusFile(file)).toBeNull();
  });
});
