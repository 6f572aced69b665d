import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser tests drive Chromium: `npm run test:browser` (vitest.browser.config.ts).
    exclude: ['test/browser/**', 'node_modules/**'],
    pool: 'forks',
    // Two test files at a time (the default on a 2-core machine is one: most of a file's time
    // is spent waiting on servers and child processes, not computing), and each fork keeps its
    // loaded modules from one file to the next instead of importing the app again: the suite's
    // wall time is about half what it was. Tests share nothing through module state; each
    // starts its own Hangar on its own store.
    maxWorkers: 2,
    minWorkers: 1,
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
