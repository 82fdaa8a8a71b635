import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ScriptedReply, shellCall, type Turn } from '../standins/openai.ts';
import { type BypassOutcome, runBypassAttempts } from './bypass.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from './credentialless-world.ts';
import { type ScanReport, scanContainer } from './secret-scanner.ts';
import {
  type PublishedProfile,
  publishCodexProfile,
  sessionHistory,
  waitForSession,
  waitForSnapshot,
} from './sessions.ts';

// The credentialless proof (issue 7, ADR 0048), through the public API only:
// connections to the OpenAI and GitHub stand-ins, a codex profile with the
// repository, publish → the snapshot build installs Codex through the npm
// passthrough and clones through the broker → a headless session runs the
// real Codex CLI, which the stand-in model drives to edit, commit and push.
// While the agent waits for its last answer, a scanner looks through the
// sandbox for every secret. Then the bypass attempts, and the quota.

let world: CredentiallessWorld;
let profile: PublishedProfile;
const state: { snapshotReady?: boolean } = {};

beforeAll(async () => {
  world = await startCredentiallessWorld(inject('airlock'));
}, 900_000);

afterAll(async () => {
  await world?.stop();
});

function needsSnapshot(): void {
  if (state.snapshotReady !== true)
    throw new Error('the snapshot did not become ready (see the test before)');
}

const EDIT =
  'cd /home/sandbox/workspace/widgets' +
  " && printf '\\nEdited by the agent, credentials brokered.\\n' >> README.md" +
  ' && git add README.md' +
  ' && git -c user.name=Agent -c user.email=agent@example.test commit -q -m "agent: note brokered credentials"' +
  ' && git push -q origin HEAD:refs/heads/agent-edit' +
  ' && git log -1 --format=%H';

describe('the credentialless proof', () => {
  it('publishes a codex profile with OpenAI and GitHub App connections; the snapshot builds', async () => {
    profile = await publishCodexProfile(world);
    const snapshot = await waitForSnapshot(world, profile.snapshotId, 900_000);
    const logs = await world.api<{ lines: Array<{ text?: string; line?: string }> }>(
      'GET',
      `/orgs/${world.orgId}/snapshots/${profile.snapshotId}/logs`,
    );
    expect(snapshot.failureReason ?? null, JSON.stringify(logs.lines.slice(-30))).toBeNull();
    expect(snapshot.status).toBe('ready');
    expect(logs.lines.length).toBeGreaterThan(0);
    // The clone went through the broker with a minted installation token.
    expect(world.github.requests.some((r) => r.credential === 'app_jwt')).toBe(true);
    expect(
      world.github.requests.some(
        (r) => r.path.includes('git-upload-pack') && r.credential === 'installation_token',
      ),
    ).toBe(true);
    state.snapshotReady = true;
  }, 960_000);

  let scan: ScanReport | undefined;
  let scanError = '';
  let commit = '';
  it('runs the real Codex CLI headless; the stand-in model has it edit, commit and push', async () => {
    needsSnapshot();
    let sandboxId = '';
    let toolOutput = '';
    let scanning: Promise<void> | undefined;
    world.script(async (turn: Turn): Promise<readonly ScriptedReply[]> => {
      const outputs = [...turn.toolOutputs.values()];
      if (outputs.length === 0) return [shellCall(turn, EDIT)];
      toolOutput = outputs.join('\n');
      // Hold the agent mid-session (alive, with everything it used) while the scanner runs;
      // once, however often the client asks.
      scanning ??= (async () => {
        const container = await world.containerOf(sandboxId);
        if (container === undefined) throw new Error(`no container serves ${sandboxId}`);
        scan = await scanContainer(world.docker, container, world.secrets());
      })().catch((error: unknown) => {
        scanError = error instanceof Error ? error.message : String(error);
      });
      await scanning;
      return [{ kind: 'message', text: 'Done: the README is edited, committed and pushed.' }];
    });
    const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
      profileId: profile.profileId,
      mode: 'headless',
      prompt: 'Add a line to the README saying credentials are brokered, then commit and push it.',
    });
    sandboxId = session.id;
    const ended = await waitForSession(world, session.id, ['stopped', 'failed'], 600_000);
    const history = await sessionHistory(world, session.id);
    const seen = world.openai.requests.map(
      (r) => `${r.method} ${r.path} ${r.authorized ? 'ok' : 'REJECTED'}`,
    );
    expect(ended.failureReason ?? null, `${history}\nmodel calls: ${seen.join(', ')}`).toBeNull();
    expect(ended.status).toBe('stopped');

    // The upstream saw the real key on every model call, and never the placeholder.
    const calls = world.openai.requests.filter((r) => r.path === '/v1/responses');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((r) => r.authorized && r.bearer === world.openai.apiKey)).toBe(true);
    expect(world.openai.requests.filter((r) => !r.authorized)).toEqual([]);
    // The push reached GitHub with a minted installation token, which only the gateway held.
    expect(
      world.github.requests.some(
        (r) => r.path.includes('git-receive-pack') && r.credential === 'installation_token',
      ),
    ).toBe(true);
    commit = /\b([0-9a-f]{40})\b/.exec(toolOutput)?.[1] ?? '';
    expect(commit, toolOutput).toMatch(/^[0-9a-f]{40}$/);
    const pushed = execFileSync(
      'git',
      ['--git-dir', world.bareRepo, 'log', '-1', '--format=%H %s', 'agent-edit'],
      {
        encoding: 'utf8',
      },
    ).trim();
    expect(pushed).toBe(`${commit} agent: note brokered credentials`);
  }, 700_000);

  it('finds none of the secrets anywhere in the sandbox while the agent ran', () => {
    needsSnapshot();
    if (scan === undefined)
      throw new Error(
        scanError || 'the scanner did not run (the agent never came back with the tool output)',
      );
    // It looked everywhere it claims to: processes, the file tree, the repository's git config.
    expect(scan.files).toBeGreaterThan(1000);
    expect(scan.environs.length).toBeGreaterThanOrEqual(3);
    expect(scan.repositories).toContain('/home/sandbox/workspace/widgets');
    expect(scan.unreadable).toEqual([]);
    expect(scan.needles).toBeGreaterThan(world.secrets().length);
    expect(scan.hits).toEqual([]);
  });

  let bypass: BypassOutcome | undefined;
  it('refuses every way around the gateway from inside a running session, and audits the denials', async () => {
    needsSnapshot();
    world.script(() => [{ kind: 'message', text: 'Ready.' }]);
    const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
      profileId: profile.profileId,
      mode: 'interactive',
    });
    await waitForSession(world, session.id, ['running'], 300_000);
    try {
      const container = await world.containerOf(session.id);
      if (container === undefined) throw new Error(`no container for ${session.id}`);
      bypass = await runBypassAttempts(world, session.id, container);
      expect(bypass.control.succeeded, bypass.control.output).toBe(true);
      for (const attempt of bypass.attempts)
        expect(attempt.succeeded, `${attempt.name}: ${attempt.output}`).toBe(false);
      expect([...bypass.audited].sort()).toEqual([...bypass.expectedAudited].sort());
    } finally {
      await world.api('POST', `/orgs/${world.orgId}/sessions/${session.id}/stop`, {});
    }
    await waitForSession(world, session.id, ['stopped'], 180_000);
    expect(await world.containerOf(session.id)).toBeUndefined();
  }, 600_000);

  it('has released the quota once every session ended', async () => {
    needsSnapshot();
    const quota = await world.api<{ activeSessions: number }>('GET', `/orgs/${world.orgId}/quota`);
    expect(quota.activeSessions).toBe(0);
  });
});
