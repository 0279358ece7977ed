import { defineConfig } from 'vitest/config';
import { LONG_SUITES } from './test/long-suites.js';

/** `npm test`: every suite but the long ones (test/long-suites.ts; `npm run test:long`). */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...LONG_SUITES],
    // Tests that run dist/ (the CLI, the server in child processes) never see a stale build.
    globalSetup: ['test/support/fresh-build.ts'],
    setupFiles: ['test/support/yield-between-tests.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time on two cores: most of these wait on child processes (the CLI, ffmpeg, nginx).
    maxWorkers: 2,
    minWorkers: 1,
  },
});
