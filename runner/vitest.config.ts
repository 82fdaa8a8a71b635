import { defineProject } from 'vitest/config';

// Unit tests and the end-to-end suites (e2e/): the real runner process
// against the real Worker under `wrangler dev` and the real Docker engine.
export default defineProject({
  test: {
    name: 'runner',
    environment: 'node',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['../local-dev/test-global-setup.ts', './e2e/global-setup.ts'],
    testTimeout: 120_000,
    // The first suite to need the base image may build it (about a minute from a cold cache).
    hookTimeout: 600_000,
  },
});
