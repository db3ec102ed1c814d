// PROTOCOL.md "Names and paths" and "Entries": the shared validators against hostile input.
import { describe, expect, it } from 'vitest';
import {
  caseFoldKey,
  checkPath,
  checkSiteName,
  checkSitePath,
  decodePath,
  ERROR_STATUS,
  encodePath,
  errorBody,
  isTransientStatus,
  ProtocolViolation,
  parseChangesPage,
  parseEntry,
  parseErrorBody,
  platformSitePath,
  siteNameOf,
} from '../../protocol/index.js';

const rule = (path: unknown, kind: 'file' | 'folder' = 'file') => {
  const checked = checkPath(path, kind);
  return checked.ok ? 'ok' : checked.rule;
};

describe('checkPath', () => {
  it.each([
    ['hello.html'],
    ['blog/hello.html'],
    ['a b/c d.png'],
    ['émoji 😀/file.txt'],
    ['.well-known/x'],
    ['name.with.dots.txt'],
  ])('accepts %s', (path) => expect(rule(path)).toBe('ok'));

  it.each([
    ['', 'empty'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows/x', 'absolute'],
    ['c:file', 'absolute'],
    ['a//b', 'empty_segment'],
    ['a/', 'empty_segment'],
    ['..', 'dot_segment'],
    ['../x', 'dot_segment'],
    ['a/../../x', 'dot_segment'],
    ['a/./x', 'dot_segment'],
    ['a\\..\\x', 'backslash'],
    ['..\\x', 'backslash'],
    ['a\u0000b', 'control_character'],
    ['a\nb', 'control_character'],
    ['a\u007fb', 'control_character'],
    ['a\u0085b', 'control_character'],
    ['ab:c', 'forbidden_character'],
    ['a*b', 'forbidden_character'],
    ['what?', 'forbidden_character'],
    ['"q"', 'forbidden_character'],
    ['<x>', 'forbidden_character'],
    ['a|b', 'forbidden_character'],
    ['dir./x', 'trailing_dot_or_space'],
    ['x.', 'trailing_dot_or_space'],
    ['x ', 'trailing_dot_or_space'],
    ['CON', 'reserved_windows_name'],
    ['con.txt', 'reserved_windows_name'],
    ['Nul.tar.gz', 'reserved_windows_name'],
    ['a/COM1/x', 'reserved_windows_name'],
    ['lpt9.html', 'reserved_windows_name'],
    [`${'a'.repeat(256)}`, 'segment_too_long'],
    [`${'é'.repeat(128)}`, 'segment_too_long'],
    [Array.from({ length: 5 }, () => 'b'.repeat(250)).join('/'), 'path_too_long'],
    [`${Array.from({ length: 9 }, (_, i) => `d${i}`).join('/')}/f.txt`, 'too_deep'],
    [42, 'not_a_string'],
    [null, 'not_a_string'],
  ])('refuses %j as %s', (path, expected) => expect(rule(path)).toBe(expected));

  it('allows 8 folder levels for a file, and 8 segments for a folder', () => {
    const eight = Array.from({ length: 8 }, (_, i) => `d${i}`).join('/');
    expect(rule(`${eight}/f.txt`)).toBe('ok');
    expect(rule(eight, 'folder')).toBe('ok');
    expect(rule(`${eight}/d8`, 'folder')).toBe('too_deep');
  });

  it('accepts 255-byte segments and refuses 256', () => {
    expect(rule('a'.repeat(255))).toBe('ok');
    expect(rule('a'.repeat(256))).toBe('segment_too_long');
  });

  it('returns paths in NFC so NFD and NFC twins are one path', () => {
    const nfd = 'cafe\u0301/re\u0301sume\u0301.html';
    const nfcPath = 'caf\u00e9/r\u00e9sum\u00e9.html';
    const checked = checkPath(nfd);
    expect(checked.ok && checked.value).toBe(nfcPath);
    expect(checkPath(nfcPath)).toEqual(checked);
  });

  it('keeps case twins distinct but folds them for case-insensitive disks', () => {
    expect(checkPath('A.png')).not.toEqual(checkPath('a.png'));
    expect(caseFoldKey('Photos/A.png')).toBe(caseFoldKey('photos/a.PNG'));
    expect(caseFoldKey('cafe\u0301.png')).toBe(caseFoldKey('CAF\u00c9.png'));
  });
});

describe('site names', () => {
  it.each(['a', 'hello', 'my-site', 'my_site', 'a1', '0', 'a'.repeat(63)])('accepts %s', (name) =>
    expect(checkSiteName(name).ok).toBe(true),
  );
  it.each([
    ['', 'bad_site_name'],
    ['-a', 'bad_site_name'],
    ['a-', 'bad_site_name'],
    ['_a', 'bad_site_name'],
    ['Hello', 'bad_site_name'],
    ['a.b', 'bad_site_name'],
    ['a b', 'bad_site_name'],
    ['a'.repeat(64), 'bad_site_name'],
    ['caf\u00e9', 'bad_site_name'],
    ['a--b', 'double_hyphen'],
    ['con', 'reserved_site_name'],
    ['com7', 'reserved_site_name'],
    ['lpt1', 'reserved_site_name'],
    ['www', 'reserved_site_name'],
    ['api', 'reserved_site_name'],
    ['admin', 'reserved_site_name'],
    ['app', 'reserved_site_name'],
  ])('refuses %j as %s', (name, expected) => {
    const checked = checkSiteName(name);
    expect(checked.ok ? 'ok' : checked.rule).toBe(expected);
  });

  it('derives the name from the file: without .html, lowercased, in any folder', () => {
    expect(siteNameOf('Blog/Hello.HTML')).toBe('hello');
    expect(siteNameOf('hello.html')).toBe('hello');
    const site = checkSitePath('blog/Hello.html');
    expect(site.ok && site.value).toEqual({ path: 'blog/Hello.html', name: 'hello' });
    expect(platformSitePath('blog', 'hello')).toBe('blog/hello.html');
    expect(platformSitePath('', 'hello')).toBe('hello.html');
  });

  it('refuses site files whose path or name breaks a rule', () => {
    const bad = (p: string) => {
      const c = checkSitePath(p);
      return c.ok ? 'ok' : c.rule;
    };
    expect(bad('../x.html')).toBe('dot_segment');
    expect(bad('a--b.html')).toBe('double_hyphen');
    expect(bad('my site.html')).toBe('bad_site_name');
    expect(bad('www.html')).toBe('reserved_site_name');
    expect(bad('notes.txt')).toBe('not_a_site_file');
  });
});

describe('URL path encoding', () => {
  it('percent-encodes each segment and round-trips', () => {
    const path = 'a b/ü?#%/x.png';
    expect(encodePath(path)).toBe('a%20b/%C3%BC%3F%23%25/x.png');
    expect(decodePath(encodePath(path))).toBe(path);
  });
  it('gives null for broken encodings', () => {
    expect(decodePath('%E0%A4%A')).toBeNull();
  });
});

describe('entries from the network', () => {
  const site = {
    kind: 'site',
    name: 'hello',
    path: 'blog/hello.html',
    size: 3,
    sha256: 'a'.repeat(64),
    version: 1,
    updatedAt: '2026-11-25T13:24:11.123Z',
    seq: 1,
  };

  it('accepts a well-formed entry and a tombstone', () => {
    expect(parseEntry(site)).toEqual(site);
    const tomb = { kind: 'upload', path: 'x.png', deleted: true, updatedAt: site.updatedAt, seq: 9 };
    expect(parseEntry(tomb)).toEqual(tomb);
  });

  it.each([
    ['a traversal path', { ...site, path: '../../etc/x.html' }],
    ['an absolute path', { ...site, path: '/tmp/hello.html' }],
    ['a backslash path', { ...site, path: '..\\hello.html' }],
    ['a name that does not match the path', { ...site, name: 'other' }],
    ['a bad sha256', { ...site, sha256: 'xyz' }],
    ['a negative size', { ...site, size: -1 }],
    ['version 0', { ...site, version: 0 }],
    ['a bad kind', { ...site, kind: 'symlink' }],
    ['a bad date', { ...site, updatedAt: 'yesterday' }],
    ['no seq', { ...site, seq: undefined }],
    ['not an object', 'hello'],
    ['an array', [site]],
  ])('refuses %s', (_what, value) => {
    expect(() => parseEntry(value)).toThrow(ProtocolViolation);
  });

  it('refuses a page with a malformed entry or fields', () => {
    expect(parseChangesPage({ entries: [site], cursor: '5', hasMore: false }).entries).toHaveLength(1);
    expect(() => parseChangesPage({ entries: [{ ...site, path: '..' }], cursor: '5', hasMore: false })).toThrow();
    expect(() => parseChangesPage({ entries: [], cursor: '', hasMore: false })).toThrow();
    expect(() => parseChangesPage({ entries: [], cursor: '1' })).toThrow();
  });
});

describe('errors', () => {
  it('maps every code to its status and one body shape', () => {
    expect(ERROR_STATUS.cursor_reset).toBe(410);
    expect(ERROR_STATUS.too_large).toBe(413);
    expect(errorBody('conflict', 'Lost.', { current: site0() })).toEqual({
      error: { code: 'conflict', message: 'Lost.', current: site0() },
    });
    expect(parseErrorBody({ error: { code: 'x', message: 'y' } })?.code).toBe('x');
    expect(parseErrorBody({ error: 'x' })).toBeNull();
    expect(parseErrorBody(null)).toBeNull();
  });
  it('retries only 429 and 5xx', () => {
    expect([429, 500, 502, 503, 504].every(isTransientStatus)).toBe(true);
    expect([400, 401, 402, 403, 404, 409, 410, 413, 426].some(isTransientStatus)).toBe(false);
  });
});

function site0() {
  return { kind: 'site', name: 'a', path: 'a.html' };
}
