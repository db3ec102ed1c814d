// What PROTOCOL.md "Search" indexes and answers, on its own: which files are searched, the visible text of HTML, the
// folding both storages use, snippets, and the client's check of a search answer.

import { describe, expect, it } from 'vitest';
import { parseSearchResponse } from '../../protocol/index.js';
import {
  foldText,
  isSearchable,
  queryWords,
  searchDocument,
  snippetOf,
  visibleText,
} from '../../server-endpoints/sync/search-text.js';

describe('search text', () => {
  it('searches sites and text uploads up to 2 MiB, by extension in any case; not binaries or extensionless files', () => {
    const MiB = 1024 * 1024;
    expect(isSearchable('site', 'a/hello.html', 2 * MiB)).toBe(true);
    expect(isSearchable('site', 'a/hello.html', 2 * MiB + 1)).toBe(false);
    expect(isSearchable('upload', 'notes/READ.MD', 10)).toBe(true);
    expect(isSearchable('upload', 'data/x.csv', 10)).toBe(true);
    expect(isSearchable('upload', 'img/x.png', 10)).toBe(false);
    expect(isSearchable('upload', 'README', 10)).toBe(false);
    expect(isSearchable('upload', '.md', 10)).toBe(false);
    expect(isSearchable('folder', 'docs.md', 0)).toBe(false);
  });

  it('the visible text of HTML: no tags, comments, scripts or styles (any case, unclosed too); references decoded', () => {
    expect(
      visibleText('<p>One</p><SCRIPT type="x">no()</Script ><style>.no{}</style><!-- no -->Two &amp; &#233;t&#xE9;'),
    ).toBe(' One    Two & été');
    expect(visibleText('before<script>never closed <p>hidden</p>')).toBe('before ');
    expect(visibleText('before<!-- never closed')).toBe('before ');
    expect(visibleText('a <b unclosed tag')).toBe('a  ');
    expect(visibleText('&bogus; &#0; &#x110000; &lt;b&gt;')).toBe('&bogus;     <b>');
  });

  it('folds case and accents the same for files and queries; a query keeps its distinct words', () => {
    expect(foldText('Über Café ÅNGSTRÖM naïve')).toBe('uber cafe angstrom naive');
    expect(queryWords('  Café, CAFE!! menü ')).toEqual(['cafe', 'menu']);
    expect(queryWords('!? -- ...')).toEqual([]);
    expect(queryWords('U\u0308ber')).toEqual(['uber']);
  });

  it('a document: plain text for snippets, bounded folded words for the index', () => {
    const html = Buffer.from('<title>Hi</title><p>Grüße\n\n\tan\u0000alle</p><script>secret</script>');
    expect(searchDocument('site', 'hi.html', html)).toEqual({ body: 'Hi Grüße an alle', words: 'hi gruße an alle' });
    expect(searchDocument('upload', 'x.png', html)).toBeNull();
    const long = `${'x'.repeat(41)} ${Array.from({ length: 17_000 }, (_, i) => `w${i}`).join(' ')} w1 w16500`;
    const words = searchDocument('upload', 'many.txt', Buffer.from(long))!.words.split(' ');
    expect(new Set(words).size).toBe(16_000);
    expect(words).not.toContain('x'.repeat(41));
    expect(words.at(-1)).toBe('w1');
  });

  it('a snippet is the text around the first word that matches, cut at spaces with "…"', () => {
    const body = `${'lead '.repeat(40)}the Crème brûlée ${'tail '.repeat(60)}`.trim();
    const snippet = snippetOf(body, ['creme']);
    expect(snippet).toMatch(/^… (lead )+the Crème brûlée (tail )+…$/);
    expect(snippet.length).toBeLessThan(220);
    expect(snippetOf('short text', ['nothing'])).toBe('short text');
    expect(snippetOf('a cafeteria', ['cafe'])).toBe('a cafeteria');
  });
});

describe('the search answer as the client checks it', () => {
  const entry = {
    kind: 'upload',
    path: 'notes/a.md',
    size: 3,
    sha256: 'a'.repeat(64),
    version: 1,
    updatedAt: '2026-11-28T12:00:00.000Z',
    seq: 4,
  };
  it('takes results of live files with a snippet and a score', () => {
    expect(parseSearchResponse({ results: [{ entry, snippet: 'abc', score: 1.5 }] })).toEqual([
      { entry, snippet: 'abc', score: 1.5 },
    ]);
    expect(parseSearchResponse({ results: [] })).toEqual([]);
  });
  it('refuses anything else', () => {
    const bad = [
      null,
      { results: 'x' },
      { results: [{ entry, snippet: 1, score: 1 }] },
      { results: [{ entry, snippet: 'a', score: Number.NaN }] },
      { results: [{ entry: { ...entry, path: '../x' }, snippet: 'a', score: 1 }] },
      {
        results: [{ entry: { kind: 'folder', path: 'f', updatedAt: entry.updatedAt, seq: 1 }, snippet: '', score: 1 }],
      },
      { results: [{ entry: { ...entry, deleted: true }, snippet: '', score: 1 }] },
      { results: Array.from({ length: 101 }, () => ({ entry, snippet: '', score: 1 })) },
    ];
    for (const value of bad) expect(() => parseSearchResponse(value)).toThrow(/search|entry/);
  });
});
