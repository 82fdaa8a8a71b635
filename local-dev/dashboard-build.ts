import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, STATE_DIR } from './paths.ts';
import { run } from './process.ts';

// The dashboard is built once and rebuilt only when its sources change
// (a content hash of dashboard/ and the schema it imports — schema/api/ and
// what that re-exports from schema/plan/ and schema/pty/ — in .airlock/).

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else out.push(path);
  }
  return out;
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [
    ...sourceFiles(join(ROOT, 'dashboard')),
    ...sourceFiles(join(ROOT, 'schema/api')),
    ...sourceFiles(join(ROOT, 'schema/plan')),
    ...sourceFiles(join(ROOT, 'schema/pty')),
  ].sort()) {
    hash.update(relative(ROOT, file)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export async function ensureDashboardBuilt(log: (line: string) => void): Promise<void> {
  const stamp = join(STATE_DIR, 'dashboard.hash');
  const want = sourceHash();
  const built = existsSync(join(ROOT, 'dashboard/dist/index.html'));
  if (built && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  log('building the dashboard');
  const code = await run(join(ROOT, 'dashboard/node_modules/.bin/vite'), ['build', '--logLevel', 'warn'], {
    cwd: join(ROOT, 'dashboard'),
  });
  if (code !== 0) throw new Error(`the dashboard build failed (vite exited ${code})`);
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(stamp, want);
}
