import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import {
  apiTokens,
  connections,
  memberships,
  profileVersions,
  sandboxProfiles,
  snapshots,
  users,
} from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import Docker from 'dockerode';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { removeRunnerResources, removeRunnerState } from '../../runner/e2e/cleanup.ts';
import { ensureBaseImage } from '../../runner/images/build.ts';
import { Sealer } from '../../workers/lib/crypto.ts';
import { HASH_PURPOSE, hashSecret, randomSecret } from '../../workers/lib/secret-hash.ts';
import { ROOT } from '../paths.ts';
import type { Child } from '../process.ts';
import { createOrg, type RegisteredRunner, registerRunner, runnerStatus } from '../runners.ts';
import { freePort } from '../services/ports.ts';
import type { TestStackInfo } from '../test-global-setup.ts';
import { waitUntil } from '../wait.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../wrangler-dev.ts';

// Sessions end to end, as production runs them: the real Worker (workers/
// index.ts, no test entry) under `wrangler dev` with its SessionLifecycle
// workflow, a real runner process, Docker, Postgres. Rows for an org, a
// published profile version and a `ready` snapshot are written directly (the
// snapshot build is another suite's subject); sessions are started, watched
// and stopped through the HTTP API with an API token.

/** Container ids with this label (`key=value`), through the Docker CLI. */
export function containersWith(label: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${label}`], {
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
}

export function inspectContainer(id: string): { Config: { Env: string[] } } & Record<string, unknown> {
  return (JSON.parse(execFileSync('docker', ['inspect', id], { encoding: 'utf8' })) as never[])[0] as never;
}

export interface SessionWorld {
  readonly workerUrl: string;
  readonly config: Config;
  readonly db: ReturnType<typeof drizzle>;
  readonly orgId: string;
  readonly userId: string;
  readonly token: string;
  readonly baseImage: string;
  readonly runner: RegisteredRunner;
  readonly secret: string;
  /** The runner's state directory (sockets, sandbox disks). */
  readonly runnerStateDir: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  startRunner(options?: { hold?: 'create' }): Promise<RunnerProc>;
  profile(input: {
    image: string;
    resources?: { cpus: number; memoryMb: number; pids: number; diskMb?: number };
  }): Promise<string>;
  stop(): Promise<void>;
}

export { waitUntil };

export interface RunnerProc {
  readonly child: ChildProcess;
  kill(): Promise<void>;
}

/** The base image plus a stand-in `codex` that prints a banner and echoes: an agent to look at. */
function buildAgentImage(base: string, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-agent-image-'));
  try {
    writeFileSync(
      join(dir, 'codex'),
      '#!/bin/sh\necho "stand-in agent ready, key=$OPENAI_API_KEY"\nexec cat\n',
      { mode: 0o755 },
    );
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${base}\nCOPY codex /usr/local/bin/codex\n`);
    execFileSync(
      'docker',
      ['build', '-q', '--label', label, '-t', `airlock-e2e-agent:${label.split('=')[1]}`, dir],
      {
        encoding: 'utf8',
      },
    );
    return execFileSync(
      'docker',
      ['image', 'inspect', '-f', '{{.Id}}', `airlock-e2e-agent:${label.split('=')[1]}`],
      {
        encoding: 'utf8',
      },
    ).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startSessionWorld(
  stack: TestStackInfo,
  options: { maxSessions: number },
): Promise<SessionWorld & { agentImage: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-session-e2e-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const base = await ensureBaseImage({ progress: (line) => process.stdout.write(`image │ ${line}\n`) });
    const runId = newId('session').slice(-10).toLowerCase();
    const label = `airlock.e2e=${runId}`;
    const agentImage = buildAgentImage(base.imageId, label);
    stops.push(async () => {
      execFileSync('docker', ['image', 'rm', '-f', `airlock-e2e-agent:${runId}`], { stdio: 'ignore' });
    });
    const vars = {
      ...stack.vars,
      AIRLOCK_RUNNERS_HEARTBEAT_SECONDS: '1',
      AIRLOCK_RUNNERS_OFFLINE_GRACE_SECONDS: '10',
      AIRLOCK_LIMITS_MAX_CONCURRENT_SESSIONS_PER_ORG: String(options.maxSessions),
    };
    // wrangler refuses a missing assets directory; `./dev test` builds the dashboard into it first.
    mkdirSync(join(ROOT, 'dashboard/dist'), { recursive: true });
    const port = await freePort();
    const workerUrl = `http://127.0.0.1:${port}`;
    const tail: string[] = [];
    const worker: Child = await startWranglerDev({
      port,
      envFile: writeDevVars(join(dir, 'vars.env'), vars),
      persistTo: join(dir, 'wrangler'),
      onLine: (line) => {
        tail.push(line);
        if (tail.length > 200) tail.shift();
        if (process.env.AIRLOCK_E2E_VERBOSE) process.stdout.write(`worker │ ${line}\n`);
      },
    });
    stops.push(() => worker.stop());
    try {
      await waitHealthy(workerUrl, worker);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : error}\n${tail.slice(-30).join('\n')}`);
    }
    const config = configFromWorkerEnv(vars);
    const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 3 });
    stops.push(() => pool.end());
    const db = drizzle(pool);

    const orgId = await createOrg(stack.databaseUrl, 'session e2e');
    const userId = newId('user');
    await db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.test` });
    await db.insert(memberships).values({ id: newId('membership'), orgId, userId, role: 'owner' });
    const token = `alk_${randomSecret(24)}`;
    await db.insert(apiTokens).values({
      id: newId('apiToken'),
      orgId,
      userId,
      name: 'e2e',
      displayPrefix: token.slice(0, 8),
      tokenHash: await hashSecret(config.auth.pepper, HASH_PURPOSE.apiToken, token),
    });
    // A model connection with a real-looking secret: the sandbox must only ever see the placeholder.
    const secret = `sk-e2e-${crypto.randomUUID()}`;
    const connectionId = newId('connection');
    const sealed = await new Sealer(config.integrations).seal(
      JSON.stringify({ api_key: secret }),
      connectionId,
    );
    await db.insert(connections).values({
      id: connectionId,
      orgId,
      integration: 'openai',
      name: 'openai',
      config: {},
      credentialCiphertext: sealed.ciphertext,
      credentialNonce: sealed.nonce,
      credentialKeyVersion: sealed.keyVersion,
    });

    const runner = await registerRunner(stack.databaseUrl, config, { orgId, name: 'e2e', capacity: 8 });
    const stateDir = join(dir, 'runner');
    const runners: RunnerProc[] = [];
    stops.push(async () => {
      for (const r of runners) await r.kill();
      await removeRunnerResources(new Docker(), runner.runnerId);
      await removeRunnerState(stateDir);
    });

    const world: SessionWorld & { agentImage: string } = {
      workerUrl,
      config,
      db,
      orgId,
      userId,
      token,
      baseImage: base.imageId,
      agentImage,
      runner,
      secret,
      runnerStateDir: stateDir,
      api: async <T>(method: string, path: string, body?: unknown) => {
        const response = await fetch(`${workerUrl}/api${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: response.status, body: (await response.json()) as T };
      },
      startRunner: async (opts = {}) => {
        const child = spawn(process.execPath, [join(ROOT, 'runner/main.ts')], {
          cwd: ROOT,
          env: {
            PATH: process.env.PATH,
            AIRLOCK_RUNNER_URL: workerUrl,
            AIRLOCK_RUNNER_TOKEN: runner.token,
            AIRLOCK_RUNNER_STATE_DIR: stateDir,
            AIRLOCK_RUNNER_CAPACITY: '8',
            ...(opts.hold === undefined ? {} : { AIRLOCK_RUNNER_TEST_HOLD: opts.hold }),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        for (const s of [child.stdout, child.stderr])
          s?.on('data', (d: Buffer) => {
            if (process.env.AIRLOCK_E2E_VERBOSE) process.stdout.write(`runner │ ${d}`);
          });
        const proc: RunnerProc = {
          child,
          kill: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
            await exited;
          },
        };
        runners.push(proc);
        await waitUntil('the runner to be listed online', async () =>
          (await runnerStatus(stack.databaseUrl, runner.runnerId)) === 'online' ? true : undefined,
        );
        return proc;
      },
      profile: async ({ image, resources }) => {
        const profileId = newId('profile');
        const versionId = newId('profileVersion');
        await db.insert(sandboxProfiles).values({ id: profileId, orgId, name: `p-${profileId.slice(-8)}` });
        await db.insert(profileVersions).values({
          id: versionId,
          profileId,
          orgId,
          number: 1,
          status: 'published',
          publishedAt: new Date(),
          agentRuntime: 'codex',
          modelConnectionId: connectionId,
          resources: resources ?? { cpus: 0.5, memoryMb: 256, pids: 256 },
        });
        await db.insert(snapshots).values({
          id: newId('snapshot'),
          orgId,
          profileVersionId: versionId,
          status: 'ready',
          provider: 'docker',
          imageRef: image,
          finishedAt: new Date(),
        });
        return profileId;
      },
      stop,
    };
    return world;
  } catch (error) {
    await stop();
    throw error;
  }
}
