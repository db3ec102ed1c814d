import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CI shares 2 cores with other jobs: a test that is only slow there must not fail (each waits for events, not times).
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
