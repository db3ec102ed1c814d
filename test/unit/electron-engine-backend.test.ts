// The engine-backed AppBackend without a network: start-up from a saved token, the runner started and stopped with
// the on/off setting, folder rules, a locked folder, and a 401/402 from the runner.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppController } from '../../electron/core/controller.js';
import { createEngineBackend, type SyncRunner } from '../../electron/core/engine-backend.js';
import { SignedOutError } from '../../sync-engine/errors.js';
import { FolderLockedError } from '../../sync-engine/folder-lock.js';
import { openSettings } from '../../sync-engine/settings.js';
import type { SyncStatus } from '../../sync-engine/status.js';

const ORIGIN = 'http://127.0.0.1:9';
const temp = mkdtempSync(join(tmpdir(), 'hc-engine-backend-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

let n = 0;
function settingsWithToken(signedIn: boolean) {
  const settings = openSettings(join(temp, `data-${++n}`));
  if (signedIn) {
    settings.tokens.save({
      token: 'header.payload.signature',
      origin: ORIGIN,
      expiresAt: new Date(Date.now() + 86400e3).toISOString(),
      issuedAt: new Date().toISOString(),
      user: { id: 'u1', email: 'ada@example.com', plan: 'paid' },
    });
  }
  return settings;
}

function runner(events: string[], start: () => Promise<void> = async () => {}): SyncRunner {
  return {
    start: async () => {
      events.push('start');
      await start();
    },
    stop: async () => {
      events.push('stop');
    },
    setOsOnline: (online) => events.push(`online:${online}`),
    suspend: () => events.push('suspend'),
    resume: () => events.push('resume'),
  };
}

async function until(backend: { status: { current: SyncStatus } }, phase: SyncStatus['phase']): Promise<void> {
  for (let i = 0; i < 200 && backend.status.current.phase !== phase; i++) await new Promise((r) => setTimeout(r, 5));
  expect(backend.status.current.phase).toBe(phase);
}

const base = { origin: ORIGIN, scheme: 'hyperclay', deviceName: 'test', clientVersion: '0.1.0', log: () => {} };

describe('engine-backed AppBackend', () => {
  it('starts signed in from a saved token and starts syncing the default folder', async () => {
    const events: string[] = [];
    const home = join(temp, 'home');
    let folder = '';
    const backend = createEngineBackend({
      ...base,
      settings: settingsWithToken(true),
      home,
      createRunner: (context) => {
        folder = context.folder;
        return runner(events);
      },
    });
    await until(backend, 'syncing');
    expect(backend.status.current.account).toEqual({ id: 'u1', email: 'ada@example.com' });
    expect(folder).toBe(join(home, 'Hyperclay'));
    backend.setOsOnline(false);
    backend.suspend();
    backend.resume();
    await backend.setSyncOn(false);
    expect(backend.status.current.phase).toBe('off');
    await backend.shutdown();
    expect(events).toEqual(['start', 'online:false', 'suspend', 'resume', 'stop']);
  });

  it('without a token it is signed out and starts nothing', async () => {
    const events: string[] = [];
    const backend = createEngineBackend({
      ...base,
      settings: settingsWithToken(false),
      createRunner: () => runner(events),
    });
    // setSyncOn awaits the backend settling: nothing may start even with sync on.
    await backend.setSyncOn(true);
    expect(backend.status.current.phase).toBe('signed-out');
    expect(events).toEqual([]);
  });

  it('a token for another platform origin does not count', async () => {
    const events: string[] = [];
    const backend = createEngineBackend({
      ...base,
      origin: 'http://127.0.0.1:10',
      settings: settingsWithToken(true),
      createRunner: () => runner(events),
    });
    // setSyncOn awaits the backend settling: nothing may start even with sync on.
    await backend.setSyncOn(true);
    expect(backend.status.current.phase).toBe('signed-out');
    expect(events).toEqual([]);
  });

  it('a folder another process syncs: nothing starts and the window says which process holds it', async () => {
    const events: string[] = [];
    const holder = { pid: 4242, description: 'hyperclay-sync start', folder: '/f', startedAt: '', host: '' };
    const backend = createEngineBackend({
      ...base,
      settings: settingsWithToken(true),
      createRunner: () =>
        runner(events, async () => {
          throw new FolderLockedError('/f', holder);
        }),
    });
    await until(backend, 'needs-attention');
    expect(backend.status.current.lastError).toContain('hyperclay-sync start (process 4242)');
    const controller = new AppController({
      backend,
      origin: ORIGIN,
      scheme: 'hyperclay',
      openExternal: async () => {},
      log: () => {},
    });
    expect(controller.view).toMatchObject({ screen: 'signed-in', notice: expect.stringContaining('process 4242') });
    await backend.shutdown();
  });

  it('a 401 while syncing forgets the token: signed out now and at the next start', async () => {
    const settings = settingsWithToken(true);
    let signOut: ((error: SignedOutError) => void) | null = null;
    const backend = createEngineBackend({
      ...base,
      settings,
      createRunner: (context) => {
        signOut = context.onSignedOut;
        return runner([]);
      },
    });
    await until(backend, 'syncing');
    signOut!(new SignedOutError(401, 'unauthorized', 'The token was revoked.'));
    await until(backend, 'signed-out');
    expect(settings.tokens.account()).toBeNull();
    expect(backend.status.current.notice).toBeNull();
  });

  it('refuses the home folder and a root as the sync folder; accepts and remembers another', async () => {
    const home = join(temp, 'home2');
    const settings = settingsWithToken(true);
    const events: string[] = [];
    const backend = createEngineBackend({ ...base, settings, home, createRunner: () => runner(events) });
    await until(backend, 'syncing');
    await expect(backend.chooseFolder(home)).rejects.toMatchObject({ code: 'bad_folder' });
    await expect(backend.chooseFolder('/')).rejects.toMatchObject({ code: 'bad_folder' });
    await backend.chooseFolder(join(home, 'Sites'));
    expect(settings.getFolder()).toBe(join(home, 'Sites'));
    expect(backend.status.current.folder).toBe(join(home, 'Sites'));
    expect(events).toEqual(['start', 'stop', 'start']);
    await backend.shutdown();
  });

  it('a 402 from the session loop signs out with the subscription message', async () => {
    const events: string[] = [];
    const backend = createEngineBackend({
      ...base,
      settings: settingsWithToken(true),
      createRunner: () =>
        runner(events, async () => {
          throw new SignedOutError(402, 'subscription_required', 'This account has no paid plan.');
        }),
    });
    for (let i = 0; i < 200 && backend.status.current.notice === null; i++) await new Promise((r) => setTimeout(r, 5));
    expect(backend.status.current.phase).toBe('signed-out');
    expect(backend.status.current.notice?.code).toBe('subscription_required');
    expect(events).toEqual(['start']);
  });
});
