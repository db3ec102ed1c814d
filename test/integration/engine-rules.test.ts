// SPEC.md's folder rules end to end: a backup that cannot be written stops the overwrite, files over 20 MiB are
// not sent, .syncignore works both ways, path conflicts are skipped, NFC/NFD twins are one entry, no token in logs.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupsOf, filesOf, until, useSyncWorld } from '../helpers/engine.js';

/** Every log line of every engine in this file, with the tokens those engines held. */
const allLines: string[] = [];
const allTokens = new Set<string>();

const world = useSyncWorld({
  onClientStopped: (c) => {
    allLines.push(...c.lines);
    allTokens.add(c.token().token);
  },
  onClosing: (_platform) => {
    for (const a of world.platform.accounts) allTokens.add(a.token);
  },
});
const client = world.client;

const account = world.account;
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const settle = () => new Promise((resolve) => setTimeout(resolve, 1200));

describe('promise 1: nothing is lost', () => {
  it('a backup that cannot be written stops the overwrite; the pull happens once backups work again', async () => {
    const a = client();
    const file = path.join(a.folder, 'precious.html');
    writeFileSync(file, 'the only copy');
    await a.engine.start();
    await until(
      async () => (await world.platform.remote(account(), 'site', 'precious')) === 'the only copy',
      'the push',
    );
    // sites-versions is a file: no backup can be made inside it.
    writeFileSync(path.join(a.folder, 'sites-versions'), 'in the way');
    await world.platform.platformSave(account(), 'precious', 'edited on the platform');
    await until(() => a.lines.some((l) => l.includes('the backup could not be written')), 'the backup failure logged');
    expect(read(file)).toBe('the only copy');
    rmSync(path.join(a.folder, 'sites-versions'));
    await until(() => read(file) === 'edited on the platform', 'the pull once backups work');
    expect([...backupsOf(a.folder).values()]).toEqual(['the only copy']);
  });
});

describe('what is never sent', () => {
  it('a file over 20 MiB is not sent (one log line) while the others sync', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, 'huge.bin'), Buffer.alloc(20 * 1024 * 1024 + 1, 1));
    writeFileSync(path.join(a.folder, 'small.html'), 'small');
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'site', 'small')) === 'small', 'the small file');
    await a.engine.idle();
    await settle();
    expect(await world.platform.remote(account(), 'upload', 'huge.bin')).toBeNull();
    expect(a.lines.filter((l) => l.includes('huge.bin'))).toHaveLength(1);
    expect(a.lines.find((l) => l.includes('huge.bin'))).toMatch(/20 MiB/);
  });

  it('.syncignore and ignored files are never uploaded nor downloaded, and an ignored file is no delete', async () => {
    const a = client();
    writeFileSync(path.join(a.folder, '.syncignore'), 'drafts/\n*.psd\n');
    mkdirSync(path.join(a.folder, 'drafts'));
    writeFileSync(path.join(a.folder, 'drafts', 'wip.html'), 'not yet');
    writeFileSync(path.join(a.folder, 'art.psd'), 'layers');
    writeFileSync(path.join(a.folder, 'notes.txt~'), 'editor backup');
    writeFileSync(path.join(a.folder, '.hidden'), 'dot-file');
    writeFileSync(path.join(a.folder, 'index.html'), 'home');
    // The platform has entries that the ignore rules cover: they are not downloaded.
    expect((await world.platform.put(account(), 'upload', 'cover.psd', 'remote layers')).status).toBe(201);
    expect(
      (await world.platform.put(account(), 'site', 'plan', 'remote draft', { path: 'drafts/plan.html' })).status,
    ).toBe(201);
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'site', 'index')) === 'home', 'the synced file');
    await a.engine.idle();
    writeFileSync(path.join(a.folder, 'drafts', 'wip.html'), 'still not yet');
    writeFileSync(path.join(a.folder, 'later.psd'), 'more layers');
    await settle();
    const paths = (await world.platform.listing(account())).map((e) => e.path).filter((p) => p !== 'drafts');
    expect(paths.sort()).toEqual(['cover.psd', 'drafts/plan.html', 'index.html']);
    expect(existsSync(path.join(a.folder, 'cover.psd'))).toBe(false);
    expect(existsSync(path.join(a.folder, 'drafts', 'plan.html'))).toBe(false);
    // Removing an ignored file locally deletes nothing anywhere.
    rmSync(path.join(a.folder, 'art.psd'));
    await settle();
    expect(await world.platform.remote(account(), 'upload', 'cover.psd')).toBe('remote layers');
  });
});

describe('paths', () => {
  it('a 409 path_conflict (a local folder where the platform has a file) is logged and skipped; the rest syncs', async () => {
    expect((await world.platform.put(account(), 'upload', 'assets', 'a file called assets')).status).toBe(201);
    const a = client();
    mkdirSync(path.join(a.folder, 'assets'));
    writeFileSync(path.join(a.folder, 'assets', 'logo.png'), 'logo');
    writeFileSync(path.join(a.folder, 'ok.html'), 'fine');
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'site', 'ok')) === 'fine', 'the other file');
    await a.engine.idle();
    await until(() => a.lines.some((l) => /assets/.test(l) && /path_conflict|folder|file/.test(l)), 'the conflict');
    // Nothing replaced on either side: the folder and its file stay, the platform's file stays.
    expect(read(path.join(a.folder, 'assets', 'logo.png'))).toBe('logo');
    expect(await world.platform.remote(account(), 'upload', 'assets')).toBe('a file called assets');
    expect(await world.platform.remote(account(), 'upload', 'assets/logo.png')).toBeNull();
    const conflictLines = a.lines.filter((l) => l.includes('assets'));
    console.log(conflictLines.join('\n'));
    await settle();
    // Logged once, not on every poll.
    expect(a.lines.filter((l) => l.includes('assets')).length).toBe(conflictLines.length);
  });

  it('NFC/NFD twins are one entry: an NFD local name syncs as NFC and the platform edit comes back through it', async () => {
    const nfd = 'cafe\u0301.txt';
    const nfc = nfd.normalize('NFC');
    const a = client();
    writeFileSync(path.join(a.folder, nfd), 'menu');
    await a.engine.start();
    await until(async () => (await world.platform.remote(account(), 'upload', nfc)) === 'menu', 'the NFC upload');
    expect((await world.platform.listing(account())).map((e) => e.path)).toEqual([nfc]);
    const b = client();
    await b.engine.start();
    await until(() => read(path.join(b.folder, nfc)) === 'menu', 'the download on B');
    writeFileSync(path.join(b.folder, nfc), 'new menu');
    await until(() => read(path.join(a.folder, nfd)) === 'new menu', 'the edit through the NFD spelling');
    expect(filesOf(a.folder)).toEqual([nfd]);
  });
});

afterAll(() => {
  // The engines' log lines never carry a token (checked over every test above).
  expect(allLines.length).toBeGreaterThan(10);
  for (const token of allTokens) {
    for (const line of allLines) expect(line).not.toContain(token);
  }
  for (const line of allLines) expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
});
