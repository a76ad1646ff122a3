import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the real stack deployed with `cdk deploy` to MiniStack (started by the global
 * setup from `.venv-ministack`), driven through the `sandtrap` CLI. One worker: the files share one
 * deployed stack and one event queue.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    setupFiles: ['local/polyfills.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
