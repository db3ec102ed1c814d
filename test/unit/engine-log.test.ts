// SPEC.md "Log file": one line per event in the exact format, rotated by size, no line lost under a burst, and no
// token or code ever written.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, formatBytes, formatLine, redact } from '../../sync-engine/log.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hc-log-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every line of sync.log and its rotations, oldest first. */
function allLines(file: string): string[] {
  const rotated = readdirSync(dir)
    .map((name) => /^sync\.(\d+)\.log$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  const files = [...rotated.map((n) => join(dir, `sync.${n}.log`)), file];
  return files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
}

describe('log lines', () => {
  it('are formatted as `<ISO time> <LEVEL padded to 5> <message>`', () => {
    const at = new Date('2026-11-25T13:24:11.123Z');
    expect(formatLine(at, 'info', `push blog/hello.html v8 ${formatBytes(3174)} 14 ms`)).toBe(
      '2026-11-25T13:24:11.123Z INFO  push blog/hello.html v8 3.1 KiB 14 ms',
    );
    expect(formatLine(at, 'warn', 'x')).toBe('2026-11-25T13:24:11.123Z WARN  x');
    expect(formatLine(at, 'error', 'x')).toBe('2026-11-25T13:24:11.123Z ERROR x');
    expect(formatLine(at, 'debug', 'x')).toBe('2026-11-25T13:24:11.123Z DEBUG x');
    expect(formatLine(at, 'info', 'skip', { path: 'a b.html', rule: 'too_deep' })).toBe(
      '2026-11-25T13:24:11.123Z INFO  skip path="a b.html" rule=too_deep',
    );
  });

  it('stay on one line whatever the message holds', () => {
    const line = formatLine(new Date(0), 'error', 'bad\nname\r\twith\u0000control\u2028chars');
    for (const c of ['\n', '\r', '\t', '\u0000', '\u2028']) expect(line).not.toContain(c);
    expect(line).toContain('bad\\nname\\r\\twith\\u0000control\\u2028chars');
  });

  it('show bidi controls in file names as escapes, so a name cannot reorder the line', () => {
    // "invoice\u202Egpj.exe" shows as "invoiceexe.jpg" when the override reaches a terminal or an editor raw.
    const line = formatLine(new Date(0), 'info', 'push invoice\u202egpj.exe', { device: 'lap\u2066top\u200f' });
    for (const c of ['\u202e', '\u2066', '\u200f']) expect(line).not.toContain(c);
    expect(line).toContain('push invoice\\u202egpj.exe device=lap\\u2066top\\u200f');
    // Letters of right-to-left scripts are names, not controls: they stay as they are.
    expect(formatLine(new Date(0), 'info', 'push שלום.html')).toContain('push שלום.html');
  });

  it('formats sizes in binary units, named as such (KiB, MiB: 1024-based)', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(3174)).toBe('3.1 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});

describe('redaction', () => {
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsInNpZCI6InMxIiwiaWF0IjoxLCJleHAiOjJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  it.each([
    [`token ${jwt} refreshed`, jwt],
    [`Authorization: Bearer abc.def-123`, 'abc.def-123'],
    ['callback http://127.0.0.1:5000/callback?code=K7Q2-SECRET&state=xyz', 'K7Q2-SECRET'],
    [
      'POST /sync/token {"code":"K7Q2-SECRET","code_verifier":"VERIFIER-SECRET-123","redirect_uri":"x"}',
      'VERIFIER-SECRET-123',
    ],
    ['body {"token": "opaque-secret-token", "expiresAt": "2026"}', 'opaque-secret-token'],
    ['code_verifier=VERIFIER-SECRET-123 sent', 'VERIFIER-SECRET-123'],
    ['refresh_token=RT-SECRET', 'RT-SECRET'],
    ['token: opaque-secret-token', 'opaque-secret-token'],
  ])('removes the secret from %j', (text, secret) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('leaves ordinary lines alone', () => {
    const text = 'push blog/hello.html v8 3.1 KB 14 ms; 409 conflict on site:hello; token refreshed';
    expect(redact(text)).toBe(text);
  });

  it('redacts secret-named fields and secrets inside messages in the file', async () => {
    const file = join(dir, 'sync.log');
    const log = createLogger({ file });
    log.info(`signed in token=${jwt}`);
    log.warn('token exchange failed', { code: 'K7Q2-SECRET', status: 400 });
    await log.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('K7Q2-SECRET');
    expect(text).toContain('status=400');
  });
});

describe('the log file', () => {
  it('is created with mode 0600 and honours the level', async () => {
    const file = join(dir, 'logs', 'sync.log');
    const log = createLogger({ file, level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    await log.close();
    log.error('after close');
    expect(allLines(file).map((line) => line.slice(25))).toEqual(['WARN  w', 'ERROR e']);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps every line of a 100,000-line burst exactly once and in order, across rotations', async () => {
    const file = join(dir, 'sync.log');
    const log = createLogger({ file, maxBytes: 256 * 1024, maxFiles: 100 });
    for (let i = 0; i < 100_000; i++) log.info(`push blog/site-${i}.html v${i} ${formatBytes(i * 31)} 3 ms`);
    await log.close();
    const lines = allLines(file);
    expect(readdirSync(dir).length).toBeGreaterThan(10);
    expect(lines).toHaveLength(100_000);
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.endsWith(`INFO  push blog/site-${i}.html v${i} ${formatBytes(i * 31)} 3 ms`)) {
        throw new Error(`line ${i} is out of place: ${lines[i]}`);
      }
    }
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(256 * 1024);
  });

  it('keeps only maxFiles files, the newest lines, with no gap', async () => {
    const file = join(dir, 'sync.log');
    const log = createLogger({ file, maxBytes: 4096, maxFiles: 3 });
    for (let i = 0; i < 2000; i++) log.info(`line ${i}`);
    await log.close();
    expect(readdirSync(dir).sort()).toEqual(['sync.1.log', 'sync.2.log', 'sync.log']);
    expect(existsSync(join(dir, 'sync.3.log'))).toBe(false);
    const numbers = allLines(file).map((line) => Number(line.split(' ').pop()));
    expect(numbers.at(-1)).toBe(1999);
    numbers.forEach((n, i) => {
      expect(n).toBe(numbers[0]! + i);
    });
  });

  it('follows a rotation made by another logger on the same file, losing nothing', async () => {
    const file = join(dir, 'sync.log');
    const app = createLogger({ file, maxBytes: 2048, maxFiles: 1000 });
    const cli = createLogger({ file, maxBytes: 2048, maxFiles: 1000 });
    for (let i = 0; i < 3000; i++) (i % 2 === 0 ? app : cli).info(`line ${i}`);
    await app.close();
    await cli.close();
    const numbers = allLines(file).map((line) => Number(line.split(' ').pop()));
    expect(numbers.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('appends to an existing log after a restart', async () => {
    const file = join(dir, 'sync.log');
    const first = createLogger({ file });
    first.info('session start');
    await first.close();
    const second = createLogger({ file });
    second.info('session start again');
    await second.close();
    expect(allLines(file).map((line) => line.slice(31))).toEqual(['session start', 'session start again']);
  });
});
