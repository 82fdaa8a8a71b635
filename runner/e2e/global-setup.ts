import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT } from '../../local-dev/paths.ts';
import { freePort } from '../../local-dev/services/ports.ts';
import type { TestStackInfo } from '../../local-dev/test-global-setup.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../../local-dev/wrangler-dev.ts';

// The runner's end-to-end suites need the real Worker over HTTP (the runner
// is a separate Node process): `wrangler dev` with the test entry
// workers/testing/runner-harness.ts, on a free port, against the test stack.
// Runs after the stack's own global setup, which provides `airlock`.

export interface RunnerE2EInfo {
  readonly workerUrl: string;
  readonly databaseUrl: string;
  readonly vars: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    runnerE2E: RunnerE2EInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack: TestStackInfo = project.getProvidedContext().airlock;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-runner-e2e-'));
  const port = await freePort();
  const workerUrl = `http://127.0.0.1:${port}`;
  // Heartbeats every second so the tests see state move quickly; a long grace
  // so a runner restarted by a test comes back before it is written off.
  const vars = {
    ...stack.vars,
    AIRLOCK_RUNNERS_HEARTBEAT_SECONDS: '1',
    AIRLOCK_RUNNERS_OFFLINE_GRACE_SECONDS: '120',
  };
  const log: string[] = [];
  const worker = await startWranglerDev({
    script: join(ROOT, 'workers/testing/runner-harness.ts'),
    port,
    envFile: writeDevVars(join(dir, 'vars.env'), vars),
    persistTo: join(dir, 'wrangler'),
    onLine: (line) => {
      log.push(line);
      if (log.length > 200) log.shift();
    },
  });
  try {
    await waitHealthy(workerUrl, worker);
  } catch (error) {
    await worker.stop();
    throw new Error(`${error instanceof Error ? error.message : error}\n${log.slice(-30).join('\n')}`);
  }
  project.provide('runnerE2E', { workerUrl, databaseUrl: stack.databaseUrl, vars });
  return async () => {
    await worker.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
