// The search part of the storage behaviour suite (PROTOCOL.md "Search"): the storage's search() on its own, then
// GET /sync/search through the real endpoints, the same cases for every storage.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { discardStaged, stageChunks, stagingOf } from '../../server-endpoints/http.js';
import type { FileKind, WriteFileRequest } from '../../server-endpoints/types.js';
import { syncApi } from './platform.js';
import type { OpenedStorage, PlatformUnderTest, StorageUnderTest } from './storage-suite.js';

type Fresh = () => Promise<OpenedStorage>;

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

function write(kind: FileKind, key: string, text: string | Buffer, more: Partial<WriteFileRequest> = {}) {
  const content = Buffer.from(text);
  return {
    accountId: 'acct-a',
    kind,
    key,
    path: kind === 'site' ? `${key}.html` : key,
    content,
    sha256: sha(content),
    baseVersion: 0,
    modifiedAtMs: Date.now(),
    limits: { maxSites: null, maxStorageBytes: null },
    ...more,
  } satisfies WriteFileRequest;
}

/** The paths a search finds, best first. */
async function found(s: StorageUnderTest, query: string, accountId = 'acct-a', limit = 20): Promise<string[]> {
  return (await s.search(accountId, query, limit)).map((result) => result.entry.path);
}

export function describeSearch(name: string, fresh: Fresh, platform: () => PlatformUnderTest): void {
  describe(`${name}: search`, () => {
    it('matches words by prefix, case- and accent-insensitively; every word of the query must be there', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('site', 'about', '<h1>Über uns</h1><p>Wir backen KUCHEN im Café.</p>'));
      await s.writeFile(write('upload', 'notes/menu.md', '# Menu\nCrème brûlée and a cafeteria'));
      expect(await found(s, 'uber')).toEqual(['about.html']);
      expect(await found(s, 'ÜBER')).toEqual(['about.html']);
      expect(await found(s, 'kuch')).toEqual(['about.html']);
      expect((await found(s, 'cafe')).sort()).toEqual(['about.html', 'notes/menu.md']);
      expect(await found(s, 'CREME brul')).toEqual(['notes/menu.md']);
      expect(await found(s, 'cafe brulee')).toEqual(['notes/menu.md']);
      expect(await found(s, 'cafe nowhere')).toEqual([]);
      expect(await found(s, 'afe')).toEqual([]);
      // One character is a whole word only (as a prefix it would match nearly everything).
      await s.writeFile(write('upload', 'letters.txt', 'plan b, then c'));
      expect(await found(s, 'B')).toEqual(['letters.txt']);
      expect(await found(s, 'c')).toEqual(['letters.txt']);
      expect(await found(s, 'k')).toEqual([]);
      const [hit] = await s.search('acct-a', 'uber', 20);
      expect(hit).toMatchObject({ entry: { kind: 'site', name: 'about', version: 1 } });
      expect(hit!.score).toBeGreaterThan(0);
    });

    it("another account's files are never found", async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('upload', 'mine.txt', 'shared secretword of a'));
      await s.writeFile(write('upload', 'theirs.txt', 'shared secretword of b', { accountId: 'acct-b' }));
      expect(await found(s, 'secretword', 'acct-a')).toEqual(['mine.txt']);
      expect(await found(s, 'secretword', 'acct-b')).toEqual(['theirs.txt']);
      expect(await found(s, 'secretword', 'acct-c')).toEqual([]);
    });

    it('a save is found at once; an edit replaces the old words; a deleted file is gone; recreated, found again', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('site', 'page', '<p>original wording</p>'));
      expect(await found(s, 'original')).toEqual(['page.html']);
      await s.writeFile(write('site', 'page', '<p>revised phrasing</p>', { baseVersion: 1 }));
      expect(await found(s, 'original')).toEqual([]);
      expect(await found(s, 'revised')).toEqual(['page.html']);
      await s.writeFile(write('upload', 'docs/x.txt', 'revised too'));
      await s.deleteEntry('acct-a', 'site', 'page');
      expect(await found(s, 'revised')).toEqual(['docs/x.txt']);
      await s.writeFile(write('site', 'page', '<p>back again</p>'));
      expect(await found(s, 'back')).toEqual(['page.html']);
      expect(await found(s, 'revised')).toEqual(['docs/x.txt']);
    });

    it('only text: binary types and text files over 2 MiB are not searched (one that grows past it drops out)', async () => {
      const s = (await fresh()).storage;
      await s.writeFile(write('upload', 'photo.png', 'pixelword inside a png'));
      await s.writeFile(write('upload', 'blob.bin', 'pixelword inside a bin'));
      await s.writeFile(write('upload', 'no-extension', 'pixelword without extension'));
      expect(await found(s, 'pixelword')).toEqual([]);
      await s.writeFile(write('upload', 'big.txt', 'growing text'));
      expect(await found(s, 'growing')).toEqual(['big.txt']);
      const huge = `growing ${'x '.repeat(1024 * 1024 + 10)}`;
      await s.writeFile(write('upload', 'big.txt', huge, { baseVersion: 1 }));
      await s.writeFile(write('upload', 'huge.txt', huge));
      expect(await found(s, 'growing')).toEqual([]);
    });

    it('a snippet is plain text around the first match: no tags, no script or style, entities decoded', async () => {
      const s = (await fresh()).storage;
      const filler = Array.from({ length: 80 }, (_, i) => `filler${i}`).join(' ');
      const html = `<!doctype html><html><head><style>.needle{color:red}</style><script>var needle = "<b>";</script>
        </head><body><!-- needle in a comment --><div class="needle">${filler} the <em>Needle</em> &amp; thread
        <a href="/needle">after</a> ${filler}</div></body></html>`;
      await s.writeFile(write('site', 'sewing', html));
      const [hit] = await s.search('acct-a', 'needle', 20);
      expect(hit?.snippet).toMatch(/^… .*the Needle & thread after .* …$/);
      expect(hit?.snippet).not.toMatch(/[<>]|color|var |comment/);
      expect(hit!.snippet.length).toBeLessThan(240);
      expect(await found(s, 'color')).toEqual([]);
    });

    it('best first, and at most limit results', async () => {
      const s = (await fresh()).storage;
      const other = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
      await s.writeFile(write('upload', 'once.txt', `banana ${other}`));
      await s.writeFile(write('upload', 'often.txt', 'banana banana banana bananas'));
      for (let i = 0; i < 5; i++) await s.writeFile(write('upload', `more/${i}.txt`, `a banana and ${other}`));
      expect((await found(s, 'banana'))[0]).toBe('often.txt');
      expect(await found(s, 'banana', 'acct-a', 3)).toHaveLength(3);
      const scores = (await s.search('acct-a', 'banana', 20)).map((result) => result.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    });

    it('a word in more than 1,000 files still gives `limit` results, best first, each holding it', {
      timeout: 180_000,
    }, async () => {
      const s = (await fresh()).storage;
      const many = Array.from({ length: 1_050 }, (_, i) =>
        write('upload', `many/${i}.txt`, `${'common '.repeat(1 + (i % 7))}file${i}`),
      );
      expect((await s.writeFiles(many)).every((outcome) => outcome.ok)).toBe(true);
      const results = await s.search('acct-a', 'common', 50);
      expect(results).toHaveLength(50);
      expect(results.every((r) => r.snippet.startsWith('common'))).toBe(true);
      const scores = results.map((r) => r.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect((await s.search('acct-a', 'file1049', 5)).map((r) => r.entry.path)).toEqual(['many/1049.txt']);
      expect((await s.search('acct-a', 'file0', 5)).map((r) => r.entry.path)).toEqual(['many/0.txt']);
    });

    it('a group of writes indexes each saved write with it; a write that fails leaves the index as it was', async () => {
      const { storage: s, loseContent } = await fresh();
      await s.writeFile(write('site', 'lost', '<p>oldword</p>'));
      await loseContent(sha('<p>oldword</p>'));
      const bytes = Buffer.from('stagedword in a staged body');
      const staged = await stageChunks([bytes], stagingOf(s), bytes.length);
      const outcomes = await s.writeFiles([
        write('site', 'lost', '<p>newword</p>', { baseVersion: 1 }),
        write('upload', 'g/one.txt', 'groupword one'),
        { ...write('upload', 'g/staged.txt', bytes), content: staged },
      ]);
      await discardStaged(staged);
      expect(outcomes.map((o) => o.ok && o.result.outcome)).toEqual([false, 'created', 'created']);
      expect(await found(s, 'newword')).toEqual([]);
      expect(await found(s, 'oldword')).toEqual(['lost.html']);
      expect(await found(s, 'groupword')).toEqual(['g/one.txt']);
      expect(await found(s, 'stagedword')).toEqual(['g/staged.txt']);
    });

    it('GET /sync/search: results for the caller only, limit, and bad input is 400 bad_request', async () => {
      const p = platform();
      const me = syncApi(p.url, await p.tokenFor(p.addAccount({ email: 'search-me@example.com' })));
      const other = syncApi(p.url, await p.tokenFor(p.addAccount({ email: 'search-other@example.com' })));
      expect((await me.putSite('search-mine', '<p>Zebrafish notes</p>')).status).toBe(201);
      expect((await me.putUpload('zoo/zebra.md', 'zebra crossing')).status).toBe(201);
      expect((await other.putUpload('zoo/zebra.md', 'zebra of another account')).status).toBe(201);
      const answer = await me.get('/sync/search?q=ZEBR');
      expect(answer.status).toBe(200);
      const results = answer.json.results as Array<{ entry: { path: string }; snippet: string; score: number }>;
      expect(results.map((r) => r.entry.path).sort()).toEqual(['search-mine.html', 'zoo/zebra.md']);
      expect(results.find((r) => r.entry.path === 'search-mine.html')?.snippet).toBe('Zebrafish notes');
      expect(((await me.get('/sync/search?q=zebra&limit=1')).json.results as unknown[]).length).toBe(1);
      expect((await me.get('/sync/search?q=nothinglikethis')).json).toEqual({ results: [] });
      for (const query of [
        '',
        'q=',
        'q=%20%20',
        `q=${'a'.repeat(201)}`,
        'q=%21%3F',
        'q=zebra&limit=0',
        'q=zebra&limit=101',
        'q=zebra&limit=ten',
      ]) {
        const bad = await me.get(`/sync/search?${query}`);
        expect([query, bad.status, (bad.json.error as { code?: string })?.code]).toEqual([query, 400, 'bad_request']);
        expect((bad.json.error as { message: string }).message).toMatch(/^(q|limit) /);
      }
      expect((await syncApi(p.url, null).get('/sync/search?q=zebra')).status).toBe(401);
    });
  });
}
