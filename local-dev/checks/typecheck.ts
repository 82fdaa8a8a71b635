import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from '../paths.ts';

// Every TypeScript project of the repo: each top-level folder with a
// tsconfig.json, plus the tools config for the root scripts. `pnpm typecheck`
// runs this file; `./dev test checks` typechecks the same list one project at
// a time so each counts as its own check.

export function tsProjects(): string[] {
  return readdirSync(ROOT)
    .filter((dir) => existsSync(join(ROOT, dir, 'tsconfig.json')))
    .map((dir) => join(dir, 'tsconfig.json'))
    .concat('tsconfig.tools.json');
}

if (import.meta.main) {
  let failed = 0;
  for (const project of tsProjects()) {
    process.stdout.write(`typecheck ${project}\n`);
    const { status } = spawnSync(join(BIN, 'tsc'), ['-p', project], { cwd: ROOT, stdio: 'inherit' });
    if (status !== 0) failed++;
  }
  process.exit(failed === 0 ? 0 : 1);
}
