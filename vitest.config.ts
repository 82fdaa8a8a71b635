import { defineConfig } from 'vitest/config';
import { trustTestCa } from './local-dev/test-tls.ts';

// Before any project config loads the Workers plugin: workerd must trust the
// test CA of the HTTPS stand-ins (see local-dev/test-tls.ts).
trustTestCa();

// One run covers every TypeScript suite: each package owns its project config
// (plain Node, or workerd through @cloudflare/vitest-plugin).
export default defineConfig({
  test: { projects: ['*/vitest.config.ts', 'dashboard/e2e/vitest.config.ts'] },
});
