import { defineConfig } from 'vitest/config';

// Two projects: fast pure tests beside the code, and journeys on the real test
// environment (started once per run by test/global-setup.ts, run one file at a
// time because they share one cluster and two cores).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'testenv/**/*.test.ts', 'eslint-rules/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          fileParallelism: false,
          // Above the 240 s a journey waits for one backup or restore, so a stuck one reports its state.
          testTimeout: 420_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
