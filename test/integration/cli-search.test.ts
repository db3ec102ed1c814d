// `hyperclay-sync search` as the real built command against the real reference platform: matches as lines and as
// JSON, a word saved a moment ago found at once, no matches, bad usage (2), signed out (3), unreachable (4).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestAccount, type TestPlatform } from '../helpers/engine.js';
import { type CliEnv, runCli, seedSignIn } from './cli-run.js';

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

describe('hyperclay-sync search', { timeout: 90_000 }, () => {
  let platform: TestPlatform;
  let account: TestAccount;
  let env: CliEnv;

  beforeAll(async () => {
    platform = await startPlatform([{ email: 'search-cli@example.com' }, { email: 'search-other@example.com' }]);
    account = platform.accounts[0] as TestAccount;
    env = { home: tempDir('hc-cli-search-'), url: platform.url };
    seedSignIn(env.home, env.url, account);
    const other = platform.accounts[1] as TestAccount;
    const puts = [
      await platform.put(
        account,
        'site',
        'recipes',
        '<h1>Crème brûlée</h1><script>var hidden = 1</script><p>A café classic</p>',
      ),
      await platform.put(account, 'upload', 'notes/shopping.md', '# Shopping\n- cream\n- sugar for the creme'),
      await platform.put(account, 'upload', 'photos/creme.png', 'creme in a picture'),
      await platform.put(other, 'upload', 'notes/theirs.md', 'creme of another account'),
    ];
    expect(puts.map((put) => put.status)).toEqual([201, 201, 201, 201]);
  }, 90_000);

  afterAll(async () => {
    await platform?.close();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one match per line, path then a plain-text snippet, best first; exit 0', async () => {
    const result = await runCli(env, ['search', 'CREME']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').sort();
    expect(lines).toEqual([
      'notes/shopping.md  # Shopping - cream - sugar for the creme',
      'recipes.html  Crème brûlée A café classic',
    ]);
    expect(result.stderr).toBe('');
  });

  it('takes several words without quotes (all must be in the file), --limit and --json', async () => {
    const both = await runCli(env, ['search', 'creme', 'cafe']);
    expect([both.code, both.stdout]).toEqual([0, 'recipes.html  Crème brûlée A café classic\n']);
    const limited = await runCli(env, ['search', 'creme', '--limit', '1']);
    expect(limited.stdout.trim().split('\n')).toHaveLength(1);
    const json = await runCli(env, ['search', 'brul', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      results: Array<{ entry: { kind: string; name: string }; snippet: string; score: number }>;
    };
    expect(parsed.results).toEqual([
      {
        entry: expect.objectContaining({ kind: 'site', name: 'recipes', version: 1 }),
        snippet: 'Crème brûlée A café classic',
        score: expect.any(Number),
      },
    ]);
  });

  it('a site saved on the platform a moment ago is found at once; none found says "No matches."', async () => {
    expect((await platform.platformSave(account, 'recipes', '<h1>Pavlova</h1><p>meringue and fruit</p>')).ok).toBe(
      true,
    );
    const fresh = await runCli(env, ['search', 'meringue']);
    expect([fresh.code, fresh.stdout]).toEqual([0, 'recipes.html  Pavlova meringue and fruit\n']);
    const gone = await runCli(env, ['search', 'brulee']);
    expect([gone.code, gone.stdout]).toEqual([0, 'No matches.\n']);
  });

  it('bad usage is exit 2 with a sentence; signed out is exit 3; an unreachable platform is exit 4', async () => {
    for (const args of [
      ['search'],
      ['search', 'creme', '--limit', '0'],
      ['search', 'creme', '--limit', 'x'],
      ['search', 'a'.repeat(201)],
      ['search', '  '],
    ]) {
      const result = await runCli(env, args);
      expect([args.join(' ').slice(0, 30), result.code]).toEqual([args.join(' ').slice(0, 30), 2]);
      expect(result.stderr).toMatch(/^hyperclay-sync: .+search/);
    }
    const signedOut = await runCli({ home: tempDir('hc-cli-search-out-'), url: platform.url }, ['search', 'creme']);
    expect(signedOut.code).toBe(3);
    expect(signedOut.stderr).toMatch(/not signed in.*hyperclay-sync login/);
    const deadHome = tempDir('hc-cli-search-dead-');
    const dead = 'http://127.0.0.1:9';
    seedSignIn(deadHome, dead, account);
    const unreachable = await runCli({ home: deadHome, url: dead }, ['search', 'creme']);
    expect(unreachable.code).toBe(4);
  });

  it('--help shows the usage and examples', async () => {
    const help = await runCli(env, ['search', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hyperclay-sync search TEXT [--limit N] [--json]');
    expect(help.stdout).toContain('hyperclay-sync search recipe');
  });
});
