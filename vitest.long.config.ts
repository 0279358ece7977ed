import { defineConfig } from 'vitest/config';
import { LONG_SUITES } from './test/long-suites.js';

/**
 * `npm run test:long`: the long suites (test/long-suites.ts), one file at a
 * time: browsers, players and timing-sensitive live tests get the machine to
 * themselves.
 */
export default defineConfig({
  test: {
    include: LONG_SUITES,
    globalSetup: ['test/support/fresh-build.ts'],
    setupFiles: ['test/support/yield-between-tests.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
