import { defineConfig } from 'vitest/config';

// A test's timeout is no speed check: tests that start the CLI or train a model run on a loaded machine too (CI
// shares it), where one `peregrine` start-up took 20 s of wall time.
// Two groups: `unit` needs no servers; `integration` runs against the real local stack
// (started by `peregrine stack up`), one file at a time because the stack is shared.
const integration = ['**/*.integration.test.ts'];
const ignored = ['**/node_modules/**', '.stack/**'];

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['**/*.test.ts'], exclude: [...integration, ...ignored], testTimeout: 120_000 } },
      {
        test: {
          name: 'integration', include: integration, exclude: ignored,
          // Starts the real local stack if it is not up (installing it on first use).
          globalSetup: ['deploy/local/vitest.global-setup.ts'],
          testTimeout: 180_000, hookTimeout: 600_000, pool: 'forks', poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
