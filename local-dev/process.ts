import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// Child processes in their own process groups, so stopping one stops
// everything it started (wrangler's workerd, say) and nothing is orphaned.

export interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

export function spawnGroup(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { onLine?: (line: string, stream: 'stdout' | 'stderr') => void } = {},
): Child {
  const { onLine, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of ['stdout', 'stderr'] as const) {
    const source = child[stream];
    if (source && onLine) createInterface({ input: source }).on('line', (line) => onLine(line, stream));
    else source?.resume();
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.once('error', () => resolve(null));
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  return {
    process: child,
    exited,
    stop: async (graceMs = 5000) => {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Members that outlived the leader are stopped too.
      signalGroup('SIGKILL');
    },
  };
}

/** Run to completion, inheriting the terminal; resolves with the exit code. */
export function run(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
}

export class CliError extends Error {}

/** The CLI's exit: one line on stderr, non-zero status. */
export function fail(message: string): never {
  throw new CliError(message);
}
