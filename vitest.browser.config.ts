import { defineConfig } from 'vitest/config';

// `npm run test:browser`: the console in a real Chromium (scripts/test-browser.mjs builds it first).
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // How long a browser test waits for the page to show something (live views refresh at most
    // once a second or so): a wait, not a timing assertion; it returns as soon as it holds.
    expect: { poll: { timeout: 15_000 } },
  },
});
