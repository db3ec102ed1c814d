// `npm run bench -- <name> [options]`: runs one benchmark by name (each prints its figures; none is a test).

const BENCHES: Record<string, { about: string; load: () => Promise<unknown> }> = {
  scale: {
    about:
      'HAProxy + two endpoint processes over PostgreSQL + S3, N simulated accounts [--accounts --minutes --faults]',
    load: () => import('./scale/main.js'),
  },
  server: { about: 'one endpoint process: idle polls and site saves', load: () => import('./server-bench.js') },
  'vs-syncthing': {
    about:
      'the 10,000-file tree up, down and to a joining device: ours and Syncthing in one run [--runs --syncthing-runs --skip-syncthing]',
    load: () => import('./vs-syncthing.js'),
  },
  batch: {
    about: 'the reference server: the tree through batches and single PUTs, /sync/fetch, 50 parallel uploads',
    load: () => import('./batch-bench.js'),
  },
  limits: {
    about: 'the platform under abuse: 50 parallel 10 MiB uploads (RSS, health), a PUT burst, a sign-in flood [--only]',
    load: () => import('./limits-bench.js'),
  },
  search: {
    about:
      '10,000 text files in one account (embedded storage): p50/p99 of GET /sync/search for a mix of words [--queries N]',
    load: () => import('./search-bench.js'),
  },
  engine: { about: 'the sync engine against a platform process [--only ...]', load: () => import('./engine-bench.js') },
};

const name = process.argv[2];
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <name> [options]\n`);
  for (const [key, { about }] of Object.entries(BENCHES)) process.stderr.write(`  ${key.padEnd(13)} ${about}\n`);
  process.exit(2);
}
// Each benchmark reads its own options from process.argv.
process.argv.splice(2, 1);
await bench.load();
