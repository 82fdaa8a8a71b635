import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import Docker from 'dockerode';
import pg from 'pg';
import { removeRunnerResources, removeRunnerState } from '../../runner/e2e/cleanup.ts';
import { ensureBaseImage } from '../../runner/images/build.ts';
import { LABEL } from '../../runner/src/docker/labels.ts';
import { ensureDashboardBuilt } from '../dashboard-build.ts';
import { ROOT } from '../paths.ts';
import { type Child, spawnGroup } from '../process.ts';
import { freePort, waitFor } from '../services/ports.ts';
import { type AnthropicScript, type AnthropicStandIn, startAnthropicStandIn } from '../standins/anthropic.ts';
import { type E2bStandIn, startE2bStandIn } from '../standins/e2b/index.ts';
import { type GithubStandIn, startGithubStandIn } from '../standins/github.ts';
import { type OpenAiStandIn, type Script, startOpenAiStandIn } from '../standins/openai.ts';
import type { TestStackInfo } from '../test-global-setup.ts';
import { startWranglerDev, waitHealthy, writeDevVars } from '../wrangler-dev.ts';
import type { Secret } from './secret-scanner.ts';

// The product as a user runs it, minus the clouds (ADR 0048): the production
// Worker (workers/index.ts) under `wrangler dev`, the test stack's Postgres and
// Redis, the real runner process driving the real Docker engine, and the
// stand-ins for OpenAI (one real key, records what it saw) and GitHub (git
// http-backend + installation tokens for an App). Everything the tests do goes
// through the public API with an API token obtained the way a user gets one:
// an emailed login code (read from the mail sink), then POST /tokens.

export interface CredentiallessWorld {
  readonly workerUrl: string;
  readonly orgId: string;
  readonly apiToken: string;
  /** The Docker runner (empty when the world runs remote sandboxes only). */
  readonly runnerId: string;
  readonly provider: 'docker' | 'e2b';
  /** The E2B stand-in (provider `e2b`): its API, its sandboxes, its faults. */
  readonly e2b: E2bStandIn | null;
  readonly openai: OpenAiStandIn & { readonly apiKey: string };
  readonly anthropic: AnthropicStandIn & { readonly apiKey: string };
  readonly github: GithubStandIn & {
    readonly appId: string;
    readonly installationId: string;
    readonly privateKeyPem: string;
  };
  /** The stand-in's bare repository `acme/widgets.git` (to look for pushed commits). */
  readonly bareRepo: string;
  readonly config: Config;
  readonly docker: Docker;
  /** The base image's id (what `docker run` benchmarks compare against). */
  readonly baseImage: string;
  /** Replace the OpenAI stand-in's script (the default answers with a message). */
  script(next: Script): void;
  /** Replace the Anthropic stand-in's script (the default answers with text). */
  scriptAnthropic(next: AnthropicScript): void;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>;
  /** The raw response, for status assertions. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** Every secret value the sandbox must never hold: the connections', the platform's, the caller's. */
  secrets(): Secret[];
  /** The container serving a session (by the runner's label). */
  containerOf(sandboxId: string): Promise<string | undefined>;
  /** Lines the Worker and the runner printed (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

function git(args: string[], cwd: string): void {
  execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd, GIT_TERMINAL_PROMPT: '0' },
    stdio: 'ignore',
  });
}

/** `acme/widgets.git`, bare, with one commit on main. */
function seedRepository(root: string): void {
  const seed = join(root, 'seed');
  mkdirSync(seed, { recursive: true });
  git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), '# widgets\n');
  const who = ['-c', 'user.name=Seed', '-c', 'user.email=seed@example.test'];
  git([...who, 'add', '.'], seed);
  git([...who, 'commit', '-q', '-m', 'first'], seed);
  mkdirSync(join(root, 'repos/acme'), { recursive: true });
  git(['clone', '-q', '--bare', seed, join(root, 'repos/acme/widgets.git')], root);
}

/** A fresh org with one owner, straight in Postgres (what sign-up or `./dev start`'s seed does). */
async function seedOrg(databaseUrl: string): Promise<{ orgId: string; email: string }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const orgId = newId('org');
    const userId = newId('user');
    const email = `e2e-${randomBytes(4).toString('hex')}@example.test`;
    await client.query('insert into orgs (id, name, slug) values ($1, $2, $3)', [
      orgId,
      'Credentialless',
      `cl-${orgId.slice(-16).toLowerCase()}`,
    ]);
    await client.query('insert into users (id, email) values ($1, $2)', [userId, email]);
    await client.query(`insert into memberships (id, org_id, user_id, role) values ($1, $2, $3, 'owner')`, [
      newId('membership'),
      orgId,
      userId,
    ]);
    return { orgId, email };
  } finally {
    await client.end();
  }
}

/** The newest login code the mail sink holds for `email`. */
async function loginCode(mailUrl: string, email: string): Promise<string> {
  let code: string | undefined;
  await waitFor(
    `a login code for ${email} in the mail sink`,
    async () => {
      const messages = (await (await fetch(`${mailUrl}/messages`)).json()) as Array<{
        to: string[];
        text: string;
      }>;
      const mine = messages.filter((m) => m.to.includes(email)).at(-1);
      code = mine === undefined ? undefined : /\b(\d{4,10})\b/.exec(mine.text)?.[1];
      return code !== undefined;
    },
    20_000,
  );
  return code ?? '';
}

export interface WorldOptions {
  readonly log?: (line: string) => void;
  /** Runner capacity (concurrent sandboxes); the benches raise it. */
  readonly capacity?: number;
  /** Extra AIRLOCK_* variables for the Worker. */
  readonly vars?: Readonly<Record<string, string>>;
  /** Where sandboxes run: the runner's Docker (default), or the E2B stand-in (no runner at all). */
  readonly provider?: 'docker' | 'e2b';
}

/** The Worker's public name in the stand-ins' world: remote sandboxes dial `ws://` + this (port 80). */
export const GATEWAY_HOST = 'airlock-gateway.test';

export async function startCredentiallessWorld(
  stack: TestStackInfo,
  options: WorldOptions = {},
): Promise<CredentiallessWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-credentialless-'));
  const stops: Array<() => Promise<void>> = [];
  const lines: string[] = [];
  const keep = (prefix: string) => (line: string) => {
    lines.push(`${prefix} ${line}`);
    if (lines.length > 400) lines.shift();
    options.log?.(`${prefix} ${line}`);
  };
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const docker = new Docker();
    const base = await ensureBaseImage({ progress: keep('image   │') });
    // The production Worker serves the dashboard's assets; `./dev test` builds them first.
    await ensureDashboardBuilt(keep('airlock │'));

    const openaiKey = `sk-proj-${randomBytes(24).toString('hex')}`;
    let script: Script = () => [{ kind: 'message', text: 'Hello from the stand-in.' }];
    const openai = await startOpenAiStandIn({ apiKey: openaiKey, script: (turn) => script(turn) });
    stops.push(openai.close);
    const anthropicKey = `sk-ant-api03-${randomBytes(24).toString('hex')}`;
    let anthropicScript: AnthropicScript = () => [{ kind: 'text', text: 'Hello from the stand-in.' }];
    const anthropic = await startAnthropicStandIn({
      apiKey: anthropicKey,
      script: (turn) => anthropicScript(turn),
    });
    stops.push(anthropic.close);

    seedRepository(dir);
    const app = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const appId = String(100_000 + Math.floor(Math.random() * 800_000));
    const installationId = String(1_000_000 + Math.floor(Math.random() * 8_000_000));
    const github = await startGithubStandIn({
      projectRoot: join(dir, 'repos'),
      app: { id: appId, installationId, publicKeyPem: app.publicKey },
      // The sandbox calls the stand-in by its address (a service override, ADR 0020), and
      // sandboxd's NO_PROXY covers 127.0.0.1: another loopback address goes through the proxy.
      host: '127.0.0.2',
    });
    stops.push(github.close);

    const port = await freePort();
    const workerUrl = `http://127.0.0.1:${port}`;
    const provider = options.provider ?? 'docker';
    let e2b: E2bStandIn | null = null;
    if (provider === 'e2b') {
      e2b = await startE2bStandIn({ world: { [GATEWAY_HOST]: `127.0.0.1:${port}` }, tag: `cl${port}` });
      stops.push(e2b.close);
    }
    const remote =
      e2b === null
        ? {}
        : {
            AIRLOCK_SERVICES_TUNNEL_PUBLIC_URL: `ws://${GATEWAY_HOST}`,
            AIRLOCK_SANDBOX_E2B_API_URL: e2b.apiUrl,
            AIRLOCK_SANDBOX_E2B_SANDBOX_URL: e2b.sandboxUrl,
          };
    const vars = { ...stack.vars, AIRLOCK_SERVICES_PUBLIC_URL: workerUrl, ...remote, ...options.vars };
    const worker: Child = await startWranglerDev({
      port,
      envFile: writeDevVars(join(dir, 'vars.env'), vars),
      persistTo: join(dir, 'wrangler'),
      onLine: keep('worker  │'),
    });
    stops.push(() => worker.stop());
    try {
      await waitHealthy(workerUrl, worker);
    } catch (error) {
      throw new Error(`${error instanceof Error ? error.message : error}\n${lines.slice(-40).join('\n')}`);
    }
    const config = configFromWorkerEnv(vars);

    // Log in as a user would: the emailed code, then an API token.
    const { orgId, email } = await seedOrg(stack.databaseUrl);
    const origin = { origin: workerUrl, 'content-type': 'application/json' };
    const requested = await fetch(`${workerUrl}/api/auth/otp/request`, {
      method: 'POST',
      headers: origin,
      body: JSON.stringify({ email }),
    });
    if (requested.status !== 202)
      throw new Error(`OTP request: ${requested.status} ${await requested.text()}`);
    const code = await loginCode(stack.mailUrl, email);
    const verified = await fetch(`${workerUrl}/api/auth/otp/verify`, {
      method: 'POST',
      headers: origin,
      body: JSON.stringify({ email, code }),
    });
    if (verified.status !== 200) throw new Error(`OTP verify: ${verified.status} ${await verified.text()}`);
    const cookie = (verified.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const minted = await fetch(`${workerUrl}/api/orgs/${orgId}/tokens`, {
      method: 'POST',
      headers: { ...origin, cookie },
      body: JSON.stringify({ name: 'e2e' }),
    });
    if (minted.status !== 201) throw new Error(`token: ${minted.status} ${await minted.text()}`);
    const apiToken = ((await minted.json()) as { token: string }).token;

    const request = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${workerUrl}/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const api = async <T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const response = await request(method, path, body, headers);
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    };

    const standIn = e2b;
    if (standIn !== null)
      return {
        ...common(),
        runnerId: '',
        secrets: () =>
          [...secrets(''), { name: 'e2b api key', value: standIn.apiKey }].filter(
            (s) => s.value.length >= 16,
          ),
        containerOf: async (sandboxId) =>
          [...standIn.registry.sandboxes.values()].find((s) => s.metadata.airlockSandboxId === sandboxId)
            ?.containerId,
      };

    // A runner registered through the API, run as its own process against the Worker.
    const registered = await api<{ runner: { id: string }; token: string }>(
      'POST',
      `/orgs/${orgId}/runners`,
      {
        name: `e2e-${randomBytes(3).toString('hex')}`,
        provider: 'docker',
        capacity: options.capacity ?? 4,
      },
    );
    const runnerId = registered.runner.id;
    const tokenFile = join(dir, 'runner.token');
    writeFileSync(tokenFile, registered.token, { mode: 0o600 });
    const runner = spawnGroup(process.execPath, [join(ROOT, 'runner/main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        AIRLOCK_RUNNER_URL: workerUrl,
        AIRLOCK_RUNNER_TOKEN_FILE: tokenFile,
        AIRLOCK_RUNNER_STATE_DIR: join(dir, 'runner'),
        AIRLOCK_RUNNER_CAPACITY: String(options.capacity ?? 4),
      },
      onLine: keep('runner  │'),
    });
    stops.push(async () => {
      await runner.stop();
      await removeRunnerResources(docker, runnerId);
      await removeRunnerState(join(dir, 'runner'));
    });
    await waitFor(
      'the runner to be listed online',
      async () =>
        (await api<{ status: string }>('GET', `/orgs/${orgId}/runners/${runnerId}`)).status === 'online',
      60_000,
    );

    return {
      ...common(),
      runnerId,
      secrets: () => secrets(registered.token).filter((s) => s.value.length >= 16),
      containerOf: async (sandboxId) =>
        (
          await docker.listContainers({
            all: true,
            filters: { label: [`${LABEL.sandbox}=${sandboxId}`, `${LABEL.runner}=${runnerId}`] },
          })
        )[0]?.Id,
    };

    function common(): Omit<CredentiallessWorld, 'runnerId' | 'secrets' | 'containerOf'> {
      return {
        workerUrl,
        orgId,
        apiToken,
        provider,
        e2b,
        openai: Object.assign(openai, { apiKey: openaiKey }),
        anthropic: Object.assign(anthropic, { apiKey: anthropicKey }),
        github: Object.assign(github, { appId, installationId, privateKeyPem: app.privateKey }),
        bareRepo: join(dir, 'repos/acme/widgets.git'),
        config,
        docker,
        baseImage: base.imageId,
        script: (next) => {
          script = next;
        },
        scriptAnthropic: (next) => {
          anthropicScript = next;
        },
        api,
        request,
        logs: () => lines.join('\n'),
        stop,
      };
    }

    function secrets(runnerToken: string): Secret[] {
      return [
        { name: 'openai api key', value: openaiKey },
        { name: 'anthropic api key', value: anthropicKey },
        { name: 'github app private key', value: app.privateKey },
        ...github.issuedTokens.map((value, i) => ({ name: `github installation token ${i + 1}`, value })),
        { name: 'airlock api token', value: apiToken },
        { name: 'runner token', value: runnerToken },
        { name: 'login cookie', value: cookie.slice(cookie.indexOf('=') + 1) },
        { name: 'auth pepper', value: config.auth.pepper },
        ...Object.entries(config.tokens).flatMap(([purpose, keys]) =>
          Object.entries(keys.keys).map(([kid, value]) => ({ name: `${purpose} token key ${kid}`, value })),
        ),
        ...Object.entries(config.integrations.master_keys).map(([version, value]) => ({
          name: `master key v${version}`,
          value,
        })),
        { name: 'kv rest token', value: config.kv.rest_token },
        { name: 'mail api key', value: config.mail.http_api_key ?? '' },
      ];
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
