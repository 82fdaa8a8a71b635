import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// `pnpm --filter @airlock/cli build`: one ESM file, dist/airlock.js, with
// @airlock/schema and every library inlined — what a user installs and what
// the CLI's tests run (ADR 0171). Node does not strip types under
// node_modules, and @airlock/schema is not published, so the sources alone
// would not run once installed.

const here = dirname(fileURLToPath(import.meta.url));
export const BUNDLE = join(here, 'dist/airlock.js');

export async function buildCli(): Promise<string> {
  await build({
    entryPoints: [join(here, 'main.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // ws's optional native helpers: absent, it uses its JavaScript fallbacks.
    external: ['bufferutil', 'utf-8-validate'],
    // Bundled CommonJS (ws, cli-table3) calls require() for Node built-ins.
    banner: {
      js: "import { createRequire as __airlockRequire } from 'node:module';\nconst require = __airlockRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
  chmodSync(BUNDLE, 0o755);
  return BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildCli();
  process.stdout.write(`built ${out} (${Math.round(statSync(out).size / 1024)} KiB)\n`);
}
