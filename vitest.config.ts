import { defineConfig } from 'vitest/config';

// One run covers every TypeScript suite: each package owns its project config
// (plain Node, or workerd through @cloudflare/vitest-plugin).
export default defineConfig({
  test: { projects: ['*/vitest.config.ts'] },
});
