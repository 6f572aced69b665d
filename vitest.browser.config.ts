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
  },
});
