import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../local-dev/paths.ts';
import { freePort } from '../../local-dev/services/ports.ts';
import type { TestStackInfo } from '../../local-dev/test-global-setup.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../../local-dev/wrangler-dev.ts';

// The Worker the runner's end-to-end suites talk to: `wrangler dev` with the
// test entry workers/testing/runner-harness.ts, on a free port, against the
// test stack. The runner project starts one in its global setup; the
// adversarial suite (local-dev/e2e/adversarial/) starts one per attack file.

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

export interface RunnerHarness {
  readonly info: RunnerE2EInfo;
  stop(): Promise<void>;
}

export async function startRunnerHarness(stack: TestStackInfo): Promise<RunnerHarness> {
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
  const stop = async () => {
    await worker.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(workerUrl, worker);
  } catch (error) {
    await stop();
    throw new Error(`${error instanceof Error ? error.message : error}\n${log.slice(-30).join('\n')}`);
  }
  return { info: { workerUrl, databaseUrl: stack.databaseUrl, vars }, stop };
}
