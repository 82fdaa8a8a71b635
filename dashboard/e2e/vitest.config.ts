import { defineProject } from 'vitest/config';

// The product end to end: `./dev start` on a free port with throwaway state,
// driven in Debian's Chromium through playwright-core. One browser, one
// journey, bounded by explicit timeouts (it runs on 2 CI cores).
export default defineProject({
  test: {
    name: 'dashboard-e2e',
    root: import.meta.dirname,
    environment: 'node',
    include: ['**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
