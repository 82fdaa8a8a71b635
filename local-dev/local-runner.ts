import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromWorkerEnv } from '@airlock/config';
import { ROOT } from './paths.ts';
import { type Child, spawnGroup } from './process.ts';
import { registerRunner } from './runners.ts';

// `./dev start`'s Docker runner: the sandbox base image (built on first use,
// with its progress printed; a no-op when nothing changed), a runner row for
// the local org with a fresh token, then `node runner/main.ts`. Everything runs
// as children that stop with ./dev start. AIRLOCK_DEV_RUNNER=0 skips it all.

export interface LocalRunnerInput {
  readonly stateDir: string;
  readonly workerUrl: string;
  readonly databaseUrl: string;
  readonly vars: Readonly<Record<string, string>>;
  readonly orgId: string;
  readonly say: (line: string) => void;
  /** Each child as it starts, so the caller can stop it on shutdown. */
  readonly track: (child: Child) => void;
}

function runnerLine(line: string): string {
  try {
    const { msg, time: _time, level, runnerId: _id, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `runner  │ ${level === 'info' ? '' : `${String(level)}: `}${String(msg)}${fields ? ` ${fields}` : ''}`;
  } catch {
    return `runner  │ ${line}`;
  }
}

export async function startLocalRunner(input: LocalRunnerInput): Promise<void> {
  const image = spawnGroup(process.execPath, [join(ROOT, 'runner/images/build.ts')], {
    cwd: ROOT,
    env: { ...process.env, AIRLOCK_STATE_DIR: input.stateDir },
    onLine: (line) => input.say(line.startsWith('image') ? line : `image   │ ${line}`),
  });
  input.track(image);
  if ((await image.exited) !== 0) {
    input.say('runner  │ not started: the sandbox image did not build (see above); sessions cannot run');
    return;
  }
  const runner = await registerRunner(input.databaseUrl, configFromWorkerEnv(input.vars), {
    orgId: input.orgId,
    name: 'local',
  });
  const tokenFile = join(input.stateDir, 'runner.token');
  writeFileSync(tokenFile, runner.token, { mode: 0o600 });
  const child = spawnGroup(process.execPath, [join(ROOT, 'runner/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      AIRLOCK_RUNNER_URL: input.workerUrl,
      AIRLOCK_RUNNER_TOKEN_FILE: tokenFile,
      AIRLOCK_RUNNER_STATE_DIR: join(input.stateDir, 'runner'),
    },
    onLine: (line) => input.say(runnerLine(line)),
  });
  input.track(child);
}
