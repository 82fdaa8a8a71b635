import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

// One image build at a time on a machine (`./dev start` and test files may
// ask together): an exclusive lock file holding the owner's pid. A lock whose
// owner died is taken over.

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withLock<T>(
  path: string,
  work: () => Promise<T>,
  options: { waitMs?: number; onWait?: () => void } = {},
): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 15 * 60_000);
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(path, 'utf8').trim() || 'NaN');
      if (!Number.isInteger(owner) || !alive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another image build (pid ${owner}) holds ${path}`);
      if (!told) options.onWait?.();
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
