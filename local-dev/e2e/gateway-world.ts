import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import {
  connections,
  memberships,
  orgs,
  profileVersions,
  sandboxProfiles,
  sessions,
  users,
} from '@airlock/schema/db';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '@airlock/schema/gateway';
import { newId } from '@airlock/schema/ids';
import type { EgressRoute, RuntimePlan } from '@airlock/schema/plan';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { Sealer } from '../../workers/lib/crypto.ts';
import { mintToken } from '../../workers/lib/tokens.ts';
import { ROOT } from '../paths.ts';
import type { Child } from '../process.ts';
import { freePort } from '../services/ports.ts';
import { startUpstream, type Upstream } from '../stand-ins/upstream.ts';
import { type GithubStandIn, startGithubStandIn } from '../standins/github.ts';
import type { TestStackInfo } from '../test-global-setup.ts';
import { ensureTestTls } from '../test-tls.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../wrangler-dev.ts';

// The gateway end to end, as production wires it, minus the cloud: the real
// Worker under `wrangler dev` (with the test entry workers/testing/
// gateway-harness.ts standing in for the session lifecycle's RPC calls), real
// Postgres, the real sandboxd binary dialling its WebSocket, and loopback
// upstreams (an HTTP(S) upstream and the GitHub stand-in with git smart HTTP).
// Shared by the e2e suite and `./dev bench`.

export interface GatewayWorld {
  readonly workerUrl: string;
  readonly config: Config;
  readonly upstream: Upstream;
  readonly github: GithubStandIn & {
    readonly appId: string;
    readonly installationId: string;
    readonly privateKeyPem: string;
  };
  readonly dir: string;
  readonly db: ReturnType<typeof drizzle>;
  harness<T = unknown>(sessionId: string, op: string, input?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface SessionRows {
  readonly orgId: string;
  readonly userId: string;
  readonly profileId: string;
  readonly versionId: string;
  readonly sessionId: string;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd, GIT_TERMINAL_PROMPT: '0' },
    encoding: 'utf8',
  });
}

/** A bare repository `acme/widgets.git` with one commit, for clones through the gateway. */
export function seedRepository(root: string): void {
  const seed = join(root, 'seed');
  mkdirSync(seed, { recursive: true });
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), '# widgets\n');
  git(['-c', 'user.name=Seed', '-c', 'user.email=seed@example.test', 'add', '.'], seed);
  git(['-c', 'user.name=Seed', '-c', 'user.email=seed@example.test', 'commit', '-q', '-m', 'first'], seed);
  mkdirSync(join(root, 'repos/acme'), { recursive: true });
  git(['clone', '-q', '--bare', seed, join(root, 'repos/acme/widgets.git')], root);
}

export async function startGatewayWorld(
  stack: TestStackInfo,
  log: (line: string) => void = () => {},
): Promise<GatewayWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-gateway-e2e-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tls = ensureTestTls();
    const upstream = await startUpstream(tls);
    stops.push(upstream.close);
    seedRepository(dir);
    const app = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const github = await startGithubStandIn({
      projectRoot: join(dir, 'repos'),
      app: { id: '31337', installationId: '42', publicKeyPem: app.publicKey },
    });
    stops.push(github.close);
    const port = await freePort();
    const workerUrl = `http://127.0.0.1:${port}`;
    const tail: string[] = [];
    const worker: Child = await startWranglerDev({
      script: join(ROOT, 'workers/testing/gateway-harness.ts'),
      port,
      envFile: writeDevVars(join(dir, 'vars.env'), stack.vars),
      persistTo: join(dir, 'wrangler'),
      onLine: (line) => {
        tail.push(line);
        if (tail.length > 100) tail.shift();
        log(line);
      },
    });
    stops.push(() => worker.stop());
    try {
      await waitHealthy(workerUrl, worker);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : error}\n${tail.slice(-30).join('\n')}`);
    }
    const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 3 });
    stops.push(() => pool.end());
    return {
      workerUrl,
      config: configFromWorkerEnv(stack.vars),
      upstream,
      github: Object.assign(github, { appId: '31337', installationId: '42', privateKeyPem: app.privateKey }),
      dir,
      db: drizzle(pool),
      harness: async <T>(sessionId: string, op: string, input: unknown = {}) => {
        const response = await fetch(`${workerUrl}/api/__test/gateway/${sessionId}/${op}`, {
          method: 'POST',
          body: JSON.stringify(input),
        });
        if (!response.ok) throw new Error(`harness ${op}: ${response.status} ${await response.text()}`);
        return (op === 'exec' ? await response.text() : await response.json()) as T;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function createSessionRows(world: GatewayWorld): Promise<SessionRows> {
  const rows: SessionRows = {
    orgId: newId('org'),
    userId: newId('user'),
    profileId: newId('profile'),
    versionId: newId('profileVersion'),
    sessionId: newId('session'),
  };
  const { db } = world;
  await db
    .insert(orgs)
    .values({ id: rows.orgId, name: 'E2E', slug: `e2e-${rows.orgId.slice(-12).toLowerCase()}` });
  await db.insert(users).values({ id: rows.userId, email: `${rows.userId.toLowerCase()}@example.test` });
  await db
    .insert(memberships)
    .values({ id: newId('membership'), orgId: rows.orgId, userId: rows.userId, role: 'owner' });
  await db
    .insert(sandboxProfiles)
    .values({ id: rows.profileId, orgId: rows.orgId, name: `e2e-${rows.profileId}` });
  await db.insert(profileVersions).values({
    id: rows.versionId,
    profileId: rows.profileId,
    orgId: rows.orgId,
    number: 1,
    status: 'published',
    publishedAt: new Date(),
  });
  await db.insert(sessions).values({
    id: rows.sessionId,
    orgId: rows.orgId,
    profileId: rows.profileId,
    profileVersionId: rows.versionId,
    status: 'running',
    startedBy: rows.userId,
    provider: 'docker',
  });
  return rows;
}

export async function createConnection(
  world: GatewayWorld,
  orgId: string,
  integration: string,
  credential: Record<string, unknown>,
  config: Record<string, unknown> = {},
): Promise<string> {
  const id = newId('connection');
  const sealed = await new Sealer(world.config.integrations).seal(JSON.stringify(credential), id);
  await world.db.insert(connections).values({
    id,
    orgId,
    integration,
    name: `${integration}-${id.slice(-6)}`,
    config,
    credentialCiphertext: sealed.ciphertext,
    credentialNonce: sealed.nonce,
    credentialKeyVersion: sealed.keyVersion,
  });
  return id;
}

export async function applyPlan(
  world: GatewayWorld,
  rows: SessionRows,
  egressRoutes: EgressRoute[],
  passthrough: string[] = [],
  settings: Partial<SessionSettings> = {},
  options: { stopSessionOnLeak?: boolean } = {},
) {
  const plan: RuntimePlan = {
    schemaVersion: 1,
    orgId: rows.orgId,
    profileId: rows.profileId,
    profileVersionId: rows.versionId,
    versionNumber: 1,
    egressRoutes,
    passthrough,
    files: [],
    processes: [],
    workspace: [],
    env: {},
    agent: { runtime: 'codex', interactive: ['bash', '--noprofile', '--norc'], headless: ['true'] },
    stopSessionOnLeak: options.stopSessionOnLeak ?? false,
  };
  const result = await world.harness<{ ok: boolean }>(rows.sessionId, 'apply-plan', {
    sessionId: rows.sessionId,
    revision: 1,
    plan,
    attribution: { startedBy: rows.userId, triggerId: null, triggerDeliveryId: null },
    settings: { ...DEFAULT_SESSION_SETTINGS, ...settings },
  });
  if (!result.ok) throw new Error(`applyPlan: ${JSON.stringify(result)}`);
}

export interface Sandbox {
  readonly proxy: string;
  /** The per-sandbox CA certificate (what the sandbox trusts for intercepted HTTPS). */
  readonly caFile: string;
  readonly signSocket: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

const SANDBOXD = join(ROOT, 'target/release/sandboxd');
export const AIRLOCK_SIGN = join(ROOT, 'target/release/airlock-sign');

/** A bootstrap token for the session's tunnel, granted to its gateway as provisioning does. */
export async function bootstrapToken(world: GatewayWorld, rows: SessionRows): Promise<string> {
  const { token, jti, expiresAt } = await mintToken(world.config, 'bootstrap', {
    sub: rows.sessionId,
    org: rows.orgId,
  });
  // As provisioning does: the gateway is told the jti before the token reaches the sandbox.
  const granted = await world.harness<{ ok: boolean }>(rows.sessionId, 'expect-bootstrap', {
    sessionId: rows.sessionId,
    orgId: rows.orgId,
    jti,
    expiresAt,
    assignment: 'e2e',
  });
  if (!granted.ok) throw new Error(`expect-bootstrap: ${JSON.stringify(granted)}`);
  return token;
}

/** The real sandboxd, dialling the Worker's tunnel route with a real bootstrap token its gateway expects. */
export async function startSandboxd(world: GatewayWorld, rows: SessionRows): Promise<Sandbox> {
  if (!existsSync(SANDBOXD)) throw new Error(`${SANDBOXD} is missing: run cargo build --release`);
  const token = await bootstrapToken(world, rows);
  const home = join(world.dir, `sandbox-${rows.sessionId}`);
  mkdirSync(home, { recursive: true });
  const input = {
    sessionId: rows.sessionId,
    bootstrapToken: token,
    gateway: { url: `${world.workerUrl.replace(/^http/, 'ws')}/tunnel/${rows.sessionId}` },
    env: { HOME: home },
    proxyListen: '127.0.0.1:0',
    user: process.getuid?.() === 0 ? 'nobody' : (process.env.USER ?? 'nobody'),
    paths: {
      caBundle: join(home, 'ca.pem'),
      systemCaCert: null,
      updateCaCertificates: null,
      signSocket: join(home, 'sign.sock'),
    },
  };
  const inputFile = join(home, 'startup.json');
  writeFileSync(inputFile, JSON.stringify(input), { mode: 0o600 });
  const child = spawn(SANDBOXD, ['run', '--input', inputFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SANDBOXD_LOG: process.env.SANDBOXD_LOG ?? 'warn' },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr.on('data', () => {});
  const ready = await new Promise<{ proxy: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sandboxd did not become ready in 20 s')), 20_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; proxy?: string };
        if (event.event === 'ready' && event.proxy !== undefined) {
          clearTimeout(timer);
          resolve({ proxy: event.proxy });
        }
      } catch {
        // not ours
      }
    });
    void exited.then((code) => reject(new Error(`sandboxd exited with ${code} before it was ready`)));
  });
  const state = await world.harness<{ state: string }>(rows.sessionId, 'await-tunnel');
  if (state.state !== 'connected') throw new Error(`the tunnel did not connect: ${JSON.stringify(state)}`);
  return {
    proxy: `http://${ready.proxy}`,
    caFile: input.paths.caBundle,
    signSocket: input.paths.signSocket,
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export function readCa(sandbox: Sandbox): string {
  return readFileSync(sandbox.caFile, 'utf8');
}
