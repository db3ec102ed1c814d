// PROTOCOL.md "Search" under load: 10,000 text files (1,000 sites, 9,000 Markdown uploads, 2-4 KiB of prose each from
// a 20,000-word vocabulary with a Zipf spread) in one account on the embedded storage, uploaded through /sync/batch,
// then GET /sync/search through the real reference server for a mix of common, middling and rare words, prefixes,
// two words, accents and misses: p50/p99 per kind and overall. Target: p50 <= 20 ms.
// Run on demand: `npm run bench -- search [--queries N]` (N per kind, default 100).

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchPutItem } from '../sync-engine/endpoints.js';
import { referenceClient, startReferenceProcess, stopReferenceProcess } from './reference-process.js';

const { values } = parseArgs({ options: { queries: { type: 'string', default: '100' } } });
const perKind = Number(values.queries);
const FILES = 10_000;
const SITES = 1_000;
const VOCABULARY = 20_000;

/** A deterministic generator (mulberry32): the same files every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qu', 'bri', 'dan', 'fel', 'gor', 'hu'];
const ACCENTED = ['é', 'ü', 'ø', 'ñ'];
/** Word number `n`: 2-4 syllables; every 50th carries an accent (found without it). */
function word(n: number): string {
  let text = '';
  let rest = n + SYLLABLES.length;
  while (rest > 0) {
    text += SYLLABLES[rest % SYLLABLES.length];
    rest = Math.floor(rest / SYLLABLES.length);
  }
  return n % 50 === 7 ? `${text}${ACCENTED[n % ACCENTED.length]}` : text;
}

const vocabulary = Array.from({ length: VOCABULARY }, (_, n) => word(n));
/** Zipf: word n drawn with weight 1/(n+1), by inverting the cumulative weights. */
const cumulative: number[] = [];
vocabulary.reduce((sum, _, n) => {
  cumulative.push(sum + 1 / (n + 1));
  return sum + 1 / (n + 1);
}, 0);
function zipfWord(next: () => number): string {
  const target = next() * cumulative.at(-1)!;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cumulative[mid]! < target) low = mid + 1;
    else high = mid;
  }
  return vocabulary[low]!;
}

function prose(next: () => number, bytes: number): string {
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    const w = zipfWord(next);
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

function files(): BatchPutItem[] {
  const next = random(12);
  return Array.from({ length: FILES }, (_, i) => {
    const folder = `d${String(i % 100).padStart(2, '0')}`;
    const text = prose(next, 2048 + Math.floor(next() * 2048));
    const site = i < SITES;
    const content = Buffer.from(
      site
        ? `<!doctype html><title>Page ${i}</title><style>p{margin:0}</style><p>${text}</p>`
        : `# Note ${i}\n\n${text}\n`,
    );
    const item: BatchPutItem = {
      kind: site ? 'site' : 'upload',
      key: site ? `page-${i}` : `${folder}/note-${i}.md`,
      ...(site ? { localPath: `${folder}/page-${i}.html` } : {}),
      size: content.length,
      read: async () => content,
      sha256: createHash('sha256').update(content).digest('hex'),
      baseVersion: 0,
      modifiedAtIso: new Date().toISOString(),
    };
    return item;
  });
}

const fold = (text: string) => text.normalize('NFD').replace(/\p{M}+/gu, '');

/** The query kinds: what a person types, from words that match thousands of files to words that match none. */
function queries(): Record<string, string[]> {
  const next = random(99);
  const pick = (from: number, to: number) => vocabulary[from + Math.floor(next() * (to - from))]!;
  const many = (make: () => string) => Array.from({ length: perKind }, make);
  return {
    'common word (top 20)': many(() => pick(0, 20)),
    'middling word (rank 200-2,000)': many(() => pick(200, 2_000)),
    'rare word (rank 10,000+)': many(() => pick(10_000, VOCABULARY)),
    'prefix (3 letters)': many(() => pick(0, 5_000).slice(0, 3)),
    'two words': many(() => `${pick(0, 500)} ${pick(0, 2_000)}`),
    'accent left out': many(() => fold(vocabulary[50 * Math.floor(next() * 300) + 7]!)),
    'no match': many(() => `zzq${Math.floor(next() * 1e6)}`),
  };
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const root = mkdtempSync(join(tmpdir(), 'hc-search-bench-'));
const server = await startReferenceProcess({ dataDir: join(root, 'data'), accounts: 1 });
try {
  const api = referenceClient(server, 0);
  const tree = files();
  let started = performance.now();
  let refused = 0;
  for (let at = 0; at < tree.length; at += 500) {
    refused += (await api.putBatch(tree.slice(at, at + 500))).filter((outcome) => !outcome.ok).length;
  }
  const bytes = tree.reduce((sum, file) => sum + file.size, 0);
  console.log(
    `indexed ${tree.length} files (${(bytes / 1024 / 1024).toFixed(1)} MiB of text) via /sync/batch: ${((performance.now() - started) / 1000).toFixed(1)} s, ${refused} refused`,
  );
  const headers = { authorization: `Bearer ${server.tokens[0]}` };
  const search = async (q: string): Promise<{ ms: number; results: number }> => {
    const began = performance.now();
    const response = await fetch(`${server.url}/sync/search?q=${encodeURIComponent(q)}`, { headers });
    const body = (await response.json()) as { results?: unknown[] };
    if (response.status !== 200 || !body.results) throw new Error(`search "${q}" answered ${response.status}`);
    return { ms: performance.now() - began, results: body.results.length };
  };
  for (const q of ['kalo', 'mi', 'sane']) await search(q);
  const all: number[] = [];
  started = performance.now();
  for (const [kind, list] of Object.entries(queries())) {
    const samples: number[] = [];
    let results = 0;
    for (const q of list) {
      const one = await search(q);
      samples.push(one.ms);
      results += one.results;
    }
    all.push(...samples);
    console.log(
      `${kind.padEnd(32)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} queries, ${(results / samples.length).toFixed(1)} results each)`,
    );
  }
  const p50 = percentile(all, 50);
  console.log(
    `${'all'.padEnd(32)} p50 ${p50.toFixed(1).padStart(6)} ms  p99 ${percentile(all, 99).toFixed(1).padStart(6)} ms  (${all.length} queries in ${((performance.now() - started) / 1000).toFixed(1)} s; target p50 <= 20 ms: ${p50 <= 20 ? 'met' : 'NOT met'})`,
  );
  api.close();
} finally {
  await stopReferenceProcess(server);
  rmSync(root, { recursive: true, force: true });
}
