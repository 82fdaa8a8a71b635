import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineProject } from 'vitest/config';
import type { TestStackInfo } from '../local-dev/test-global-setup.ts';

// Runs inside workerd with the real wrangler.toml bindings; AIRLOCK_* vars
// point at the real Postgres (through the Neon proxy) and Redis (through the
// Upstash REST server) that the global setup started.
export default defineProject({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: '../wrangler.toml' },
      miniflare: { bindings: { ...inject<TestStackInfo>('airlock').vars } },
    })),
  ],
  test: {
    name: 'workers',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: ['../local-dev/test-global-setup.ts', './control-plane/testing/standins-setup.ts'],
    testTimeout: 30_000,
  },
});
