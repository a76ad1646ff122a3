import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The deployed end-to-end run has its own command (npm run test:e2e) and configuration.
    exclude: [...configDefaults.exclude, 'test/e2e/**/*.e2e.test.ts'],
    setupFiles: ['local/polyfills.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
