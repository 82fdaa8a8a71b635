import { defineProject } from 'vitest/config';

// The CLI's unit tests, and its end-to-end suite (e2e/): the built bundle run
// as a subprocess — under a real pseudo-terminal for `attach` — against the
// real Worker under `wrangler dev`, a real runner and Docker sandboxes.
export default defineProject({
  test: {
    name: 'cli',
    environment: 'node',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**'],
    globalSetup: ['../local-dev/test-global-setup.ts', './e2e/global-setup.ts'],
    testTimeout: 120_000,
    // The session world may build the sandbox base image (about a minute from a cold cache).
    hookTimeout: 900_000,
  },
});
