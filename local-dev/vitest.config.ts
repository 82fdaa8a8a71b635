import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'local-dev',
    environment: 'node',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['./test-global-setup.ts'],
    testTimeout: 60_000,
  },
});
