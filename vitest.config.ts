import { configDefaults, defineConfig } from 'vitest/config';

// The sandbox fabric's tests (real machines, the stock OpenSSH client; root only) run apart:
// `npm run test:sandbox`.
const sandbox = process.env.HANGAR_TEST_SANDBOX === '1';

export default defineConfig({
  test: {
    include: sandbox ? ['test/sandbox/**/*.test.ts'] : ['test/**/*.test.ts'],
    // The browser tests drive Chromium: `npm run test:browser` (vitest.browser.config.ts).
    exclude: sandbox ? configDefaults.exclude : [...configDefaults.exclude, 'test/sandbox/**', 'test/browser/**'],
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
