import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { configFromWorkerEnv } from '@airlock/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  docker,
  dockerExec,
  e2e,
  useRunner,
  useRunnerHarness,
  waitUntil,
} from '../../../runner/e2e/fixture.ts';
import { containerName } from '../../../runner/src/docker/labels.ts';
import { createApiUser } from '../../runners.ts';

// Snapshot build steps that run as root must never follow a path the sandbox
// user can change. The build's own sandbox-user code (the agent's npm install
// and its dependencies' scripts, the setup script) can plant symlinks in the
// home directory and the agent prefix before a later root step runs. Two real
// builds through the API (the real SnapshotBuild workflow, runner, Docker and
// npm registry); the test plants as the `sandbox` user while the agent's npm
// install is still running — as a hostile install script would — and the
// setup script plants before the scrub that precedes capture.

interface Snapshot {
  id: string;
  status: string;
  imageRef: string | null;
  failureReason: string | null;
}

useRunnerHarness();
const runner = useRunner();
let token: string;
let orgId: string;
let planted: Snapshot;
let codexLink: Snapshot;
/** What the `sandbox` user could write on the build sandbox's root filesystem (its disk aside). */
let writableOnRoot = '';

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

/** Publish a codex profile with this setup script; the snapshot it starts building. */
async function publish(name: string, modelId: string, setupScript: string): Promise<string> {
  const profile = await api<{ id: string; draftVersionId: string }>('POST', `/orgs/${orgId}/profiles`, {
    name,
  });
  const versions = `/orgs/${orgId}/profiles/${profile.id}/versions`;
  await api('PATCH', `${versions}/${profile.draftVersionId}`, {
    agentRuntime: 'codex',
    modelConnectionId: modelId,
    setupScript,
  });
  const result = await api<{ snapshot: { id: string } }>(
    'POST',
    `${versions}/${profile.draftVersionId}/publish`,
  );
  return result.snapshot.id;
}

/**
 * Run `script` in the build's sandbox while its agent install is running (so every root step of
 * the build is still to come), as `user`. Fails the test if the install is not caught running.
 */
async function duringAgentInstall(snapshotId: string, user: 'sandbox' | 'root', script: string) {
  // `npm-[i]nstall` matches the install's `sh -c … npm-install` but not this command itself.
  const guarded = `pgrep -f 'npm-[i]nstall' >/dev/null || exit 90; ${script}; pgrep -f 'npm-[i]nstall' >/dev/null || exit 91`;
  return waitUntil(
    `the agent install of ${snapshotId} to be running`,
    async () => {
      const container = await docker
        .getContainer(containerName(snapshotId))
        .inspect()
        .catch(() => null);
      if (container === null || !container.State.Running) return undefined;
      const ran = await dockerExec(container.Id, ['sh', '-c', guarded], { user });
      if (ran.exitCode === 91) throw new Error(`the agent install ended while planting: ${ran.stderr}`);
      if (ran.exitCode !== 0 && ran.exitCode !== 90) throw new Error(`planting failed: ${ran.stderr}`);
      return ran.exitCode === 0 ? ran.stdout : undefined;
    },
    5 * 60_000,
    100,
  );
}

async function finished(snapshotId: string): Promise<Snapshot> {
  return waitUntil(
    `snapshot ${snapshotId} to finish`,
    async () => {
      const s = await api<Snapshot>('GET', `/orgs/${orgId}/snapshots/${snapshotId}`);
      return s.status === 'ready' || s.status === 'failed' ? s : undefined;
    },
    20 * 60_000,
  );
}

function inImage(image: string, script: string): string {
  return execFileSync('docker', ['run', '--rm', '--network', 'none', image, 'sh', '-c', script], {
    encoding: 'utf8',
  });
}

beforeAll(async () => {
  orgId = runner.runner.orgId;
  token = await createApiUser(e2e().databaseUrl, configFromWorkerEnv(e2e().vars), orgId);
  const model = await api<{ id: string }>('POST', `/orgs/${orgId}/connections`, {
    integration: 'openai',
    name: 'model',
    credentials: { api_key: `sk-build-${randomBytes(8).toString('hex')}` },
  });
  // Build 1: the setup script points ~/.npm at a root-owned tree just before the scrub, whose
  // root step cleaned ~/.npm/_cacache; during the install, executables named like the image's
  // own commands are planted in the agent prefix, whose root step linked every name it found.
  const first = await publish(
    'planted prefix and cache',
    model.id,
    [
      'set -e',
      'test -e /etc/airlock-canary/_cacache/keep',
      'rm -rf "$HOME/.npm" && ln -s /etc/airlock-canary "$HOME/.npm"',
      'echo "setup: planted ~/.npm"',
    ].join('\n'),
  );
  // Build 2: during the install, ~/.codex becomes a link to /etc before the plan files (Codex's
  // auth.json and config.toml under ~/.codex) are written.
  const second = await publish('planted codex home', model.id, 'echo "setup: ran"');
  await Promise.all([
    duringAgentInstall(
      first,
      'sandbox',
      'mkdir -p /opt/airlock/agent/bin && ln -s /bin/true /opt/airlock/agent/bin/sandboxd && ln -s /bin/true /opt/airlock/agent/bin/node',
    ).then(() =>
      duringAgentInstall(
        first,
        'root',
        'mkdir -p /etc/airlock-canary/_cacache && echo keep > /etc/airlock-canary/_cacache/keep',
      ),
    ),
    duringAgentInstall(
      second,
      'sandbox',
      // Mount points show up in `find -xdev` with their own filesystem's permissions: not the root's.
      'rm -rf "$HOME/.codex" && ln -s /etc "$HOME/.codex" && ' +
        "awk '{print $5}' /proc/self/mountinfo > /tmp/mounts && " +
        '(find / -xdev -writable ! -type l 2>/dev/null | grep -vxF -f /tmp/mounts; true)',
    ).then((found) => {
      writableOnRoot = found;
    }),
  ]);
  [planted, codexLink] = await Promise.all([finished(first), finished(second)]);
}, 45 * 60_000);

afterAll(async () => {
  for (const s of [planted, codexLink])
    if (s?.imageRef)
      await docker
        .getImage(s.imageRef)
        .remove({ force: true })
        .catch(() => {});
});

describe('root build steps and symlinks planted by the sandbox user', () => {
  it('gives the user nothing writable on the build’s root filesystem: all it writes is on its disk', () => {
    expect(writableOnRoot).toBe('');
  });

  it('links only the agent’s own command into /usr/local/bin, never over what is there', () => {
    expect(planted.failureReason).toBeNull();
    const image = planted.imageRef ?? '';
    expect(
      inImage(image, 'test ! -L /usr/local/bin/sandboxd && test ! -L /usr/local/bin/node && echo intact'),
    ).toBe('intact\n');
    expect(inImage(image, 'readlink /usr/local/bin/codex')).toBe('/opt/airlock/agent/bin/codex\n');
  });

  it('does not clean caches through a planted ~/.npm link', () => {
    expect(inImage(planted.imageRef ?? '', 'cat /etc/airlock-canary/_cacache/keep')).toBe('keep\n');
  });

  it('does not write the plan files through a planted ~/.codex link: the step fails as the user', () => {
    expect(codexLink.status).toBe('failed');
    expect(codexLink.failureReason).toMatch(/writing \/home\/sandbox\/\.codex\/auth\.json exited with \d+/);
    expect(codexLink.failureReason).toMatch(/Permission denied/);
  });
});
