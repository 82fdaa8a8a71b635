import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { freePort, isListening, waitFor } from './ports.ts';

// A real Redis: Debian's redis-server on a private port (a child of ours, so
// it stops with us), or the server at AIRLOCK_REDIS_URL.

export interface Redis {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(input: {
  externalUrl?: string | undefined;
  dataDir?: string;
}): Promise<Redis> {
  if (input.externalUrl) return { url: input.externalUrl, stop: async () => {} };
  const port = await freePort();
  const persist = input.dataDir !== undefined;
  if (input.dataDir) mkdirSync(input.dataDir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--appendonly',
    'no',
    '--save',
    persist ? '60 1' : '',
    ...(input.dataDir ? ['--dir', input.dataDir] : []),
  ];
  let child: ChildProcess;
  try {
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(
      `could not start redis-server (${String(error)}); install it (Debian: apt-get install redis-server) or set AIRLOCK_REDIS_URL`,
    );
  }
  let exited = false;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', () => {
    exited = true;
  });
  // A Redis of ours must not outlive us, however we exit.
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exit.then(() => process.off('exit', killOnExit));
  await waitFor(
    `redis-server on port ${port}`,
    async () => {
      if (exited)
        throw new Error(
          `redis-server exited: ${stderr.trim() || 'is it installed? (apt-get install redis-server)'}`,
        );
      return isListening(port);
    },
    15_000,
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}
