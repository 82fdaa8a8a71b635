import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from './paths.ts';
import { type Child, fail, spawnGroup } from './process.ts';
import { freePort, waitFor } from './services/ports.ts';

// `wrangler dev` for this Worker (or a test entry wrapping it) on a chosen
// port, configured with AIRLOCK_* variables through an env-file, the way
// production gets them from vars and secrets.

/** dotenv lines for `wrangler dev --env-file`; values are single-quoted (ours never contain a quote). */
export function writeDevVars(file: string, vars: Readonly<Record<string, string>>): string {
  const lines = Object.entries(vars).map(([key, value]) => {
    if (value.includes("'") || value.includes('\n'))
      fail(`setting ${key} cannot be passed to wrangler dev (quote or newline)`);
    return `${key}='${value}'`;
  });
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return file;
}

export interface WranglerDevInput {
  readonly port: number;
  readonly envFile: string;
  readonly persistTo: string;
  /** Entry module instead of wrangler.toml's `main` (test harnesses). */
  readonly script?: string;
  readonly logDir?: string;
  readonly onLine?: (line: string) => void;
}

export async function startWranglerDev(input: WranglerDevInput): Promise<Child> {
  const inspectorPort = await freePort();
  return spawnGroup(
    join(BIN, 'wrangler'),
    [
      'dev',
      ...(input.script === undefined ? [] : [input.script]),
      '--config',
      join(ROOT, 'wrangler.toml'),
      '--ip',
      '127.0.0.1',
      '--port',
      String(input.port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      input.persistTo,
      '--env-file',
      input.envFile,
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        FORCE_COLOR: '0',
        ...(input.logDir === undefined ? {} : { WRANGLER_LOG_PATH: input.logDir }),
      },
      ...(input.onLine === undefined ? {} : { onLine: input.onLine }),
    },
  );
}

export async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function waitHealthy(url: string, child: Child, timeoutMs = 120_000): Promise<void> {
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  await waitFor(
    'the Worker to answer /healthz',
    async () => {
      if (exited) throw new Error('wrangler dev exited before the Worker became healthy');
      return healthy(url);
    },
    timeoutMs,
  );
}
