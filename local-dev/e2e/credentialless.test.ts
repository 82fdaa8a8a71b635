import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { AGENT_PACKAGES, VERIFIED_AGENT_VERSIONS } from '@airlock/schema/plan';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AnthropicTurn, bashCall } from '../standins/anthropic.ts';
import { shellCall, type Turn } from '../standins/openai.ts';
import { type AgentTerminal, attachAgentTerminal } from './agent-terminal.ts';
import { runBypassAttempts } from './bypass.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from './credentialless-world.ts';
import { type ScanReport, type Secret, scanContainer } from './secret-scanner.ts';
import {
  type PublishedProfile,
  publishAgentProfile,
  sessionHistory,
  waitForSession,
  waitForSnapshot,
} from './sessions.ts';

// The credentialless proof (issue 7, ADR 0048), once per agent runtime (ADR
// 0150), through the public API only: a model connection to its stand-in and
// a GitHub App, a profile per runtime at its verified CLI version with house
// rules and one secret the team chose to put in the sandbox; publish → each
// snapshot build installs its CLI through the npm passthrough and clones
// through the broker → a headless session runs the real CLI, which the
// stand-in model drives to edit, commit and push; while the agent waits for
// its last answer, a scanner looks through the sandbox for every secret.
// Then the interactive sessions of all three: each TUI at its prompt through
// the gateway's PTY, answering a typed prompt; two idle minutes with not one
// denied request (ADR 0151); the bypass attempts; the quota.

interface Runtime {
  readonly runtime: 'codex' | 'claude-code' | 'opencode';
  readonly model: 'openai' | 'anthropic';
  /** What the TUI shows once it is at its prompt. */
  readonly ready: RegExp;
  /** A brokered URL of its plan, for the bypass attempts' positive control. */
  readonly control: string;
}

const ALL_RUNTIMES: readonly Runtime[] = [
  {
    runtime: 'codex',
    model: 'openai',
    ready: /Ask Codex to do anything/,
    control: 'https://api.openai.com/v1/models',
  },
  {
    runtime: 'claude-code',
    model: 'anthropic',
    ready: /Claude Code v[\d.]+[\s\S]*❯/,
    control: 'https://api.anthropic.com/v1/models',
  },
  {
    runtime: 'opencode',
    model: 'anthropic',
    ready: /Ask anything/,
    control: 'https://api.anthropic.com/v1/models',
  },
];

/**
 * The runtimes under test: all of them, or (on a busy machine, or to chase one runtime's
 * failure) those named in AIRLOCK_E2E_RUNTIMES, comma-separated (`claude-code,opencode`).
 */
const ONLY = (process.env.AIRLOCK_E2E_RUNTIMES ?? '')
  .split(',')
  .map((r) => r.trim())
  .filter((r) => r !== '');
const unknown = ONLY.filter((r) => !ALL_RUNTIMES.some((x) => x.runtime === r));
if (unknown.length > 0) throw new Error(`AIRLOCK_E2E_RUNTIMES names unknown runtimes: ${unknown.join(', ')}`);
const RUNTIMES = ALL_RUNTIMES.filter((r) => ONLY.length === 0 || ONLY.includes(r.runtime));

/**
 * The CLI versions under test: the verified ones, or (from `./dev agents check --run`) newer
 * ones for some runtimes, as a JSON object `{ "codex": "0.171.0" }`.
 */
const OVERRIDES = JSON.parse(process.env.AIRLOCK_E2E_AGENT_VERSIONS ?? '{}') as Record<string, string>;
const versionOf = (runtime: Runtime['runtime']) =>
  Object.hasOwn(OVERRIDES, runtime) ? (OVERRIDES[runtime] ?? '') : VERIFIED_AGENT_VERSIONS[runtime];

const RULE = `house-rule-${randomBytes(6).toString('hex')}`;
const INSTRUCTIONS = `# House rules\nEvery commit message ends with ${RULE}.\n`;
const ACK = 'readable-inside-the-sandbox';

let world: CredentiallessWorld;
const profiles = new Map<string, PublishedProfile>();
const inSandbox = new Map<string, string>();
const built = new Set<string>();

beforeAll(async () => {
  world = await startCredentiallessWorld(inject('airlock'));
}, 900_000);

afterAll(async () => {
  await world?.stop();
});

function needsSnapshot(runtime: string): void {
  if (!built.has(runtime))
    throw new Error(`the ${runtime} snapshot did not become ready (see the build test)`);
}

const EDIT =
  'cd /home/sandbox/workspace/widgets' +
  " && printf '\\nEdited by the agent, credentials brokered.\\n' >> README.md" +
  ' && git add README.md' +
  ' && git -c user.name=Agent -c user.email=agent@example.test commit -q -m "agent: note brokered credentials"' +
  ' && git push -q origin HEAD:refs/heads/agent-edit-$WIDGETS_AGENT' +
  ' && git log -1 --format=%H';

/** Every secret the sandbox must not hold; this runtime's own secret-in-the-sandbox is expected. */
function secretsFor(runtime: string): Secret[] {
  return [
    ...world.secrets(),
    ...[...inSandbox].map(([owner, value]) =>
      owner === runtime
        ? { name: `secret in the sandbox of ${owner}`, value, allowed: true as const }
        : { name: `secret in the sandbox of ${owner}`, value },
    ),
  ];
}

describe('snapshots of every runtime', () => {
  it('build in parallel, each installing its verified CLI (named in the log) through the npm passthrough', async () => {
    await Promise.all(
      RUNTIMES.map(async ({ runtime, model }) => {
        const secret = `npm_${randomBytes(20).toString('hex')}`;
        inSandbox.set(runtime, secret);
        profiles.set(
          runtime,
          await publishAgentProfile(world, {
            runtime,
            model,
            agentVersion: versionOf(runtime),
            name: `Widgets ${runtime}`,
            agentInstructions: INSTRUCTIONS,
            envVars: [
              { name: 'WIDGETS_AGENT', kind: 'plain', value: runtime },
              { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value: secret, acknowledge: ACK },
            ],
          }),
        );
      }),
    );
    const failures: string[] = [];
    await Promise.all(
      RUNTIMES.map(async ({ runtime }) => {
        const profile = profiles.get(runtime);
        if (profile === undefined) return;
        const snapshot = await waitForSnapshot(world, profile.snapshotId, 1_500_000);
        const logs = await world.api<{ lines: Array<{ text: string }> }>(
          'GET',
          `/orgs/${world.orgId}/snapshots/${profile.snapshotId}/logs?limit=1000`,
        );
        const text = logs.lines.map((l) => l.text).join('\n');
        const spec = `${AGENT_PACKAGES[runtime]}@${versionOf(runtime)}`;
        if (snapshot.status !== 'ready')
          failures.push(`${runtime}: ${snapshot.failureReason}\n${text.split('\n').slice(-30).join('\n')}`);
        else if (!text.includes(`installing ${spec}`) || !text.includes(`installed ${spec}`))
          failures.push(`${runtime}: the log does not name ${spec}`);
        else if (snapshot.agentVersion !== versionOf(runtime))
          failures.push(`${runtime}: the snapshot records ${JSON.stringify(snapshot)}`);
        else built.add(runtime);
      }),
    );
    expect(failures).toEqual([]);
    // Every clone went through the broker with a minted installation token.
    expect(
      world.github.requests.some(
        (r) => r.path.includes('git-upload-pack') && r.credential === 'installation_token',
      ),
    ).toBe(true);
  }, 1_600_000);
});

describe.each(RUNTIMES)('the credentialless proof with $runtime', ({ runtime, model }) => {
  let scan: ScanReport | undefined;
  let scanError = '';

  it('runs the real CLI headless: the stand-in model has it edit, commit and push through the broker', async () => {
    needsSnapshot(runtime);
    const profile = profiles.get(runtime);
    let sandboxId = '';
    let toolOutput = '';
    let scanning: Promise<void> | undefined;
    // Hold the agent mid-session (alive, with everything it used) while the scanner runs; once.
    const holdForScan = async (output: string) => {
      toolOutput = output;
      scanning ??= (async () => {
        const container = await world.containerOf(sandboxId);
        if (container === undefined) throw new Error(`no container serves ${sandboxId}`);
        scan = await scanContainer(world.docker, container, secretsFor(runtime));
      })().catch((error: unknown) => {
        scanError = error instanceof Error ? error.message : String(error);
      });
      await scanning;
    };
    // $WIDGETS_AGENT: a plain profile variable, so the push also proves it reached the agent.
    const edit = EDIT;
    if (model === 'openai')
      world.script(async (turn: Turn) => {
        const outputs = [...turn.toolOutputs.values()];
        if (outputs.length === 0) return [shellCall(turn, edit)];
        await holdForScan(outputs.join('\n'));
        return [{ kind: 'message', text: 'Done: the README is edited, committed and pushed.' }];
      });
    else
      world.scriptAnthropic(async (turn: AnthropicTurn) => {
        // Side calls (a session title, a summary) offer no shell tool: answer them plainly.
        if (!turn.tools.some((t) => t === 'Bash' || t === 'bash'))
          return [{ kind: 'text', text: 'README edit' }];
        const results = [...turn.toolResults.values()];
        if (results.length === 0) return [bashCall(turn, edit)];
        await holdForScan(results.join('\n'));
        return [{ kind: 'text', text: 'Done: the README is edited, committed and pushed.' }];
      });
    const stand = model === 'openai' ? world.openai : world.anthropic;
    const before = stand.requests.length;
    const session = await world.api<{ id: string; agentRuntime: string; agentVersion: string }>(
      'POST',
      `/orgs/${world.orgId}/sessions`,
      {
        profileId: profile?.profileId,
        mode: 'headless',
        prompt: 'Add a line to the README saying credentials are brokered, then commit and push it.',
      },
    );
    sandboxId = session.id;
    expect(session).toMatchObject({ agentRuntime: runtime, agentVersion: versionOf(runtime) });
    const ended = await waitForSession(world, session.id, ['stopped', 'failed'], 600_000);
    const calls = stand.requests.slice(before);
    const seen = calls.map((r) => `${r.method} ${r.path} ${r.authorized ? 'ok' : 'REJECTED'}`);
    expect(
      ended.failureReason ?? null,
      `${await sessionHistory(world, session.id)}\nmodel calls: ${seen.join(', ')}`,
    ).toBeNull();
    expect(ended.status).toBe('stopped');

    // The upstream saw the real key on every call, never the placeholder.
    const modelPath = model === 'openai' ? '/v1/responses' : '/v1/messages';
    const modelCalls = calls.filter((r) => r.path === modelPath);
    expect(modelCalls.length).toBeGreaterThanOrEqual(2);
    expect(calls.filter((r) => !r.authorized)).toEqual([]);
    const credentials = new Set(
      calls.map((r) => ('bearer' in r ? r.bearer : 'credential' in r ? r.credential : undefined)),
    );
    expect([...credentials]).toEqual([stand.apiKey]);
    // The house rules reached the model: the runtime read the file the build wrote for it.
    expect(modelCalls.some((r) => JSON.stringify(r.body).includes(RULE))).toBe(true);
    // The push reached GitHub with a minted installation token, which only the gateway held.
    const commit = /\b([0-9a-f]{40})\b/.exec(toolOutput)?.[1] ?? '';
    expect(commit, toolOutput).toMatch(/^[0-9a-f]{40}$/);
    const pushed = execFileSync(
      'git',
      ['--git-dir', world.bareRepo, 'log', '-1', '--format=%H %s', `agent-edit-${runtime}`],
      { encoding: 'utf8' },
    ).trim();
    expect(pushed).toBe(`${commit} agent: note brokered credentials`);
  }, 700_000);

  it('finds none of the secrets anywhere in the sandbox while the agent ran, and the one the team put there where it belongs', () => {
    needsSnapshot(runtime);
    if (scan === undefined)
      throw new Error(
        scanError || 'the scanner did not run (the agent never came back with the tool output)',
      );
    expect(scan.files).toBeGreaterThan(1000);
    expect(scan.environs.length).toBeGreaterThanOrEqual(3);
    expect(scan.repositories).toContain('/home/sandbox/workspace/widgets');
    expect(scan.unreadable).toEqual([]);
    expect(scan.needles).toBeGreaterThan(world.secrets().length);
    expect(scan.hits).toEqual([]);
    // The secret-in-the-sandbox reached the agent's process, as its profile chose.
    expect(scan.allowedHits.some((h) => /^\/proc\/\d+\/environ$/.test(h.where))).toBe(true);
  });
});

describe('interactive sessions of every runtime', () => {
  const sessions = new Map<string, { id: string; terminal: AgentTerminal; runningAt: number }>();

  afterAll(async () => {
    for (const s of sessions.values()) {
      s.terminal.close();
      await world.api('POST', `/orgs/${world.orgId}/sessions/${s.id}/stop`, {}).catch(() => {});
    }
  });

  it('start each TUI at its prompt with no dialog, and answer a typed prompt through the broker', async () => {
    for (const { runtime } of RUNTIMES) needsSnapshot(runtime);
    world.script(() => [{ kind: 'message', text: 'Ready when you are (openai).' }]);
    world.scriptAnthropic(() => [{ kind: 'text', text: 'Ready when you are (anthropic).' }]);
    const failures: string[] = [];
    await Promise.all(
      RUNTIMES.map(async ({ runtime, model, ready }) => {
        const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
          profileId: profiles.get(runtime)?.profileId,
          mode: 'interactive',
        });
        const terminal = await attachAgentTerminal(world, session.id);
        await waitForSession(world, session.id, ['running'], 300_000);
        sessions.set(runtime, { id: session.id, terminal, runningAt: Date.now() });
        try {
          await terminal.waitFor(ready, 120_000);
          const screen = terminal.screen();
          for (const dialog of [
            /trust the files/i,
            /sign in|log ?in/i,
            /managed settings failed/i,
            /choose the text style/i,
          ])
            if (dialog.test(screen)) failures.push(`${runtime} shows ${dialog}:\n${screen}`);
          await terminal.settle(2_000, 60_000);
          await terminal.type('hello');
          await terminal.waitFor(`Ready when you are (${model})`, 90_000);
        } catch (error) {
          failures.push(`${runtime}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
    expect(failures).toEqual([]);
  }, 600_000);

  it('make not one denied request in two idle minutes', async () => {
    expect(sessions.size).toBe(RUNTIMES.length);
    const idleUntil = Math.max(...[...sessions.values()].map((s) => s.runningAt)) + 120_000;
    await new Promise((r) => setTimeout(r, Math.max(0, idleUntil - Date.now())));
    const denied: string[] = [];
    for (const { runtime, control } of RUNTIMES) {
      const session = sessions.get(runtime);
      if (session === undefined) continue;
      // A brokered request now, seen in the trail, means everything before it has been shipped.
      const container = await world.containerOf(session.id);
      if (container === undefined) throw new Error(`no container for ${runtime}`);
      const marker = `/v1/models/airlock-quiet-check-${runtime}`;
      await world.docker
        .getContainer(container)
        .exec({
          Cmd: [
            'sh',
            '-c',
            `curl -s -o /dev/null --proxy http://127.0.0.1:8877 --cacert /etc/airlock/ca.pem "${control.replace('/v1/models', marker)}"`,
          ],
          User: 'sandbox',
        })
        .then((exec) => exec.start({ Detach: true }));
      const deadline = Date.now() + 90_000;
      let items: Array<{ decision: string | null; host: string | null; path: string | null }> = [];
      for (;;) {
        items = (
          await world.api<{ items: typeof items }>(
            'GET',
            `/orgs/${world.orgId}/audit?sessionId=${session.id}&kind=egress&limit=200`,
          )
        ).items;
        if (items.some((e) => e.path === marker)) break;
        if (Date.now() > deadline)
          throw new Error(`the ${runtime} control request never reached the audit trail`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      for (const e of items.filter((i) => i.decision === 'denied'))
        denied.push(`${runtime}: ${e.host}${e.path}`);
    }
    expect(denied).toEqual([]);
  }, 400_000);

  // By name (`%s` of a string prints it bare; `$runtime` would quote it): the adversarial summary
  // finds these proofs by their exact titles.
  it.each(RUNTIMES.map((r) => r.runtime))(
    '%s: refuses every way around the gateway from inside a running session, and audits the denials',
    async (runtime) => {
      const control = RUNTIMES.find((r) => r.runtime === runtime)?.control ?? '';
      const session = sessions.get(runtime);
      if (session === undefined) throw new Error(`no interactive ${runtime} session`);
      const container = await world.containerOf(session.id);
      if (container === undefined) throw new Error(`no container for ${session.id}`);
      const bypass = await runBypassAttempts(world, session.id, container, control);
      expect(bypass.control.succeeded, bypass.control.output).toBe(true);
      for (const attempt of bypass.attempts)
        expect(attempt.succeeded, `${attempt.name}: ${attempt.output}`).toBe(false);
      expect([...bypass.audited].sort()).toEqual([...bypass.expectedAudited].sort());
      await world.api('POST', `/orgs/${world.orgId}/sessions/${session.id}/stop`, {});
      await waitForSession(world, session.id, ['stopped'], 180_000);
      expect(await world.containerOf(session.id)).toBeUndefined();
    },
    400_000,
  );
});

describe('afterwards', () => {
  it('has released the quota once every session ended', async () => {
    const quota = await world.api<{ activeSessions: number }>('GET', `/orgs/${world.orgId}/quota`);
    expect(quota.activeSessions).toBe(0);
  });
});
