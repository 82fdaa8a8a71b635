import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromWorkerEnv } from '@airlock/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRepository } from '../../local-dev/e2e/gateway-world.ts';
import { createApiUser } from '../../local-dev/runners.ts';
import { type GithubStandIn, startGithubStandIn } from '../../local-dev/standins/github.ts';
import { LABEL } from '../src/docker/labels.ts';
import { docker, e2e, useRunner, waitUntil } from './fixture.ts';

// SnapshotBuild end to end, through the HTTP API only: the real Worker (its
// Workflow, gateway DO and broker) under `wrangler dev`, the real runner and
// Docker, real Postgres, the GitHub stand-in (git http-backend + App
// installation tokens) on a loopback address the sandbox reaches only through
// the build's gateway, and the real npm registry as passthrough for the
// agent CLI. Two builds share the run, concurrently: a published version
// (captured) and a setup test of the next draft whose script fails.

interface Snapshot {
  id: string;
  kind: string;
  status: string;
  imageRef: string | null;
  exitCode: number | null;
  failureReason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}
interface LogPage {
  lines: Array<{ seq: number; stream: string; text: string }>;
  nextAfter: number;
  done: boolean;
}

const runner = useRunner();
let github: GithubStandIn;
let dir: string;
let token: string;
let orgId: string;
let published: Snapshot;
let setupTest: Snapshot;
/** Log lines seen while the published build was still building. */
let liveLines: string[] = [];

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${e2e().workerUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function logsOf(snapshotId: string): Promise<LogPage['lines']> {
  const lines: LogPage['lines'] = [];
  let after = 0;
  for (;;) {
    const page = await api<LogPage>(
      'GET',
      `/orgs/${orgId}/snapshots/${snapshotId}/logs?after=${after}&limit=1000`,
    );
    lines.push(...page.lines);
    after = page.nextAfter;
    if (page.lines.length < 1000) return lines;
  }
}

const finished = (s: Snapshot) => s.status === 'ready' || s.status === 'failed';

beforeAll(async () => {
  orgId = runner.runner.orgId;
  token = await createApiUser(e2e().databaseUrl, configFromWorkerEnv(e2e().vars), orgId);
  dir = mkdtempSync(join(tmpdir(), 'airlock-build-e2e-'));
  seedRepository(dir);
  const app = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  github = await startGithubStandIn({
    projectRoot: join(dir, 'repos'),
    app: { id: '31337', installationId: '42', publicKeyPem: app.publicKey },
    host: '127.0.0.2',
  });

  const model = await api<{ id: string }>('POST', `/orgs/${orgId}/connections`, {
    integration: 'openai',
    name: 'model',
    credentials: { api_key: `sk-build-${randomBytes(8).toString('hex')}` },
  });
  const git = await api<{ id: string }>('POST', `/orgs/${orgId}/connections`, {
    integration: 'github_app',
    name: 'git',
    config: { app_id: '31337', installation_id: '42', base_url: github.url },
    credentials: { private_key: app.privateKey },
  });
  const profile = await api<{ id: string; draftVersionId: string }>('POST', `/orgs/${orgId}/profiles`, {
    name: 'build e2e',
  });
  const versions = `/orgs/${orgId}/profiles/${profile.id}/versions`;
  await api('PATCH', `${versions}/${profile.draftVersionId}`, {
    agentRuntime: 'codex',
    modelConnectionId: model.id,
    gitConnectionId: git.id,
    repositories: [{ repository: 'acme/widgets' }],
    setupScript: [
      'set -e',
      'echo "setup: hello from the setup script"',
      'echo "setup: to stderr" >&2',
      'test -f README.md',
      'echo built > "$HOME/setup-marker.txt"',
      'echo "setup: done in $(pwd)"',
    ].join('\n'),
  });
  const result = await api<{ snapshot: Snapshot; draft: { id: string } }>(
    'POST',
    `${versions}/${profile.draftVersionId}/publish`,
  );
  await api('PATCH', `${versions}/${result.draft.id}`, {
    setupScript: 'echo "setup: about to fail"\nfor i in 1 2 3; do echo "line $i"; done\nexit 7\n',
  });
  const test = await api<Snapshot>('POST', `${versions}/${result.draft.id}/setup-tests`);

  const snapshot = (id: string) => api<Snapshot>('GET', `/orgs/${orgId}/snapshots/${id}`);
  published = await waitUntil(
    'the published version to be built',
    async () => {
      const s = await snapshot(result.snapshot.id);
      if (!finished(s) && liveLines.length === 0) liveLines = (await logsOf(s.id)).map((l) => l.text);
      return finished(s) ? s : undefined;
    },
    20 * 60_000,
  );
  setupTest = await waitUntil(
    'the setup test to finish',
    async () => {
      const s = await snapshot(test.id);
      return finished(s) ? s : undefined;
    },
    20 * 60_000,
  );
}, 45 * 60_000);

afterAll(async () => {
  if (published?.imageRef)
    await docker
      .getImage(published.imageRef)
      .remove({ force: true })
      .catch(() => {});
  await github?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function inImage(image: string, script: string): string {
  return execFileSync(
    'docker',
    ['run', '--rm', '--network', 'none', '--user', 'sandbox', image, 'bash', '-c', script],
    { encoding: 'utf8' },
  );
}

describe('a published version', () => {
  it('is built into a ready snapshot whose image exists', async () => {
    expect(published.failureReason).toBeNull();
    expect(published).toMatchObject({ kind: 'snapshot', status: 'ready', exitCode: 0 });
    expect(published.startedAt).not.toBeNull();
    expect(published.finishedAt).not.toBeNull();
    expect(published.imageRef).toMatch(/\S/);
    const image = await docker.getImage(published.imageRef ?? '').inspect();
    expect(image.Id).toMatch(/^sha256:/);
  });

  it('holds the repository cloned through the gateway, the setup script’s file and the agent CLI', () => {
    const image = published.imageRef ?? '';
    expect(inImage(image, 'cat /home/sandbox/workspace/widgets/README.md')).toContain('# widgets');
    expect(inImage(image, 'cat /home/sandbox/setup-marker.txt')).toBe('built\n');
    expect(inImage(image, 'codex --version')).toMatch(/codex/i);
    // The clone's remote holds no credential: the gateway injected it on the wire.
    expect(inImage(image, 'git -C /home/sandbox/workspace/widgets remote get-url origin')).toBe(
      `${github.url}/acme/widgets.git\n`,
    );
    // The git credential came from the broker: an installation token was minted and used.
    expect(github.requests.some((r) => r.credential === 'installation_token')).toBe(true);
  });

  it('has its log readable through the API, with the setup script’s output, live and after', async () => {
    const lines = await logsOf(published.id);
    const texts = lines.map((l) => l.text);
    expect(texts).toContain('setup: hello from the setup script');
    expect(lines.find((l) => l.text === 'setup: to stderr')?.stream).toBe('stderr');
    expect(texts).toContain('setup: done in /home/sandbox/workspace/widgets');
    expect(texts.some((t) => t.startsWith('cloning acme/widgets'))).toBe(true);
    const seqs = lines.map((l) => l.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    // Lines were there before the build finished.
    expect(liveLines.length).toBeGreaterThan(0);
    const page = await api<LogPage>(
      'GET',
      `/orgs/${orgId}/snapshots/${published.id}/logs?after=${seqs.at(-1)}`,
    );
    expect(page).toMatchObject({ lines: [], done: true });
  });

  it('tears down its temporary sandbox', async () => {
    const left = await docker.listContainers({ all: true, filters: { name: [published.id] } });
    expect(left).toEqual([]);
  });
});

describe('a setup test of a draft whose script fails', () => {
  it('fails with the exit code and the tail of the output, and keeps no image', async () => {
    expect(setupTest).toMatchObject({ kind: 'setup_test', status: 'failed', exitCode: 7, imageRef: null });
    expect(setupTest.failureReason).toContain('the setup script exited with 7');
    expect(setupTest.failureReason).toContain('line 3');
    const images = await docker.listImages({ filters: { label: [`${LABEL.snapshot}=${setupTest.id}`] } });
    expect(images).toEqual([]);
    const left = await docker.listContainers({ all: true, filters: { name: [setupTest.id] } });
    expect(left).toEqual([]);
  });

  it('has its logs readable through the API', async () => {
    const texts = (await logsOf(setupTest.id)).map((l) => l.text);
    expect(texts).toContain('setup: about to fail');
    expect(texts).toContain('line 2');
    expect(texts.some((t) => t.startsWith('build failed: the setup script exited with 7'))).toBe(true);
  });
});
