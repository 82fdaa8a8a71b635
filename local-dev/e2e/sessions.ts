import type { CredentiallessWorld } from './credentialless-world.ts';

// What a user does through the API to get a session, shared by the proof and
// the benchmarks: connections, a profile, publish, wait for the snapshot, start
// sessions and watch them. Waits are bounded and say what they waited for.

export interface PublishedProfile {
  readonly profileId: string;
  readonly versionId: string;
  readonly snapshotId: string;
  readonly modelConnectionId: string;
  readonly githubConnectionId: string;
  /** The org's E2B connection, on a world whose sandboxes run at the E2B stand-in. */
  readonly providerConnectionId: string | null;
}

export interface SnapshotView {
  readonly id: string;
  readonly status: string;
  readonly failureReason: string | null;
  readonly imageRef?: string | null;
  readonly agentVersion?: string | null;
}

export interface SessionView {
  readonly id: string;
  readonly status: string;
  readonly failureReason: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type ModelKind = 'openai' | 'anthropic';

export interface ProfileInput {
  readonly runtime?: 'codex' | 'claude-code' | 'opencode';
  readonly model?: ModelKind;
  readonly name?: string;
  readonly setupScript?: string;
  readonly agentVersion?: string;
  readonly agentInstructions?: string;
  readonly envVars?: readonly Record<string, unknown>[];
}

/** A model connection (base URL → the world's stand-in), a GitHub App (→ the stand-in), a profile on acme/widgets, published. */
export async function publishAgentProfile(
  world: CredentiallessWorld,
  input: ProfileInput = {},
): Promise<PublishedProfile> {
  const org = `/orgs/${world.orgId}`;
  const suffix = Math.random().toString(36).slice(2, 8);
  const provider = world.e2b === null ? null : await e2bConnection(world);
  const kind = input.model ?? 'openai';
  const stand = kind === 'openai' ? world.openai : world.anthropic;
  const model = await world.api<{ id: string }>('POST', `${org}/connections`, {
    integration: kind,
    name: `${kind} ${suffix}`,
    config: { base_url: stand.url },
    credentials: { api_key: stand.apiKey },
  });
  const github = await world.api<{ id: string }>('POST', `${org}/connections`, {
    integration: 'github_app',
    name: `GitHub ${suffix}`,
    config: {
      app_id: world.github.appId,
      installation_id: world.github.installationId,
      base_url: world.github.url,
    },
    credentials: { private_key: world.github.privateKeyPem },
  });
  const profile = await world.api<{ id: string; draftVersionId: string }>('POST', `${org}/profiles`, {
    name: input.name ?? `Widgets ${suffix}`,
  });
  await world.api('PATCH', `${org}/profiles/${profile.id}/versions/${profile.draftVersionId}`, {
    agentRuntime: input.runtime ?? 'codex',
    ...(input.agentVersion === undefined ? {} : { agentVersion: input.agentVersion }),
    ...(input.agentInstructions === undefined ? {} : { agentInstructions: input.agentInstructions }),
    ...(input.envVars === undefined ? {} : { envVars: input.envVars }),
    sandboxProvider: world.provider,
    ...(provider === null ? {} : { providerConnectionId: provider }),
    modelConnectionId: model.id,
    gitConnectionId: github.id,
    repositories: [{ repository: 'acme/widgets' }],
    setupScript: input.setupScript ?? 'git -C /home/sandbox/workspace/widgets log --oneline -1',
  });
  const published = await world.api<{ published: { id: string }; snapshot: { id: string } }>(
    'POST',
    `${org}/profiles/${profile.id}/versions/${profile.draftVersionId}/publish`,
    {},
  );
  return {
    profileId: profile.id,
    versionId: published.published.id,
    snapshotId: published.snapshot.id,
    modelConnectionId: model.id,
    githubConnectionId: github.id,
    providerConnectionId: provider,
  };
}

/** The Codex profile the benchmarks and the first proof use. */
export function publishCodexProfile(
  world: CredentiallessWorld,
  input: { name?: string; setupScript?: string } = {},
): Promise<PublishedProfile> {
  return publishAgentProfile(world, { ...input, runtime: 'codex', model: 'openai' });
}

/** The org's own E2B account (the stand-in's), as a sandbox-provider connection. */
export async function e2bConnection(world: CredentiallessWorld): Promise<string> {
  if (world.e2b === null) throw new Error('this world has no E2B stand-in');
  const created = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/connections`, {
    integration: 'e2b',
    name: `E2B ${Math.random().toString(36).slice(2, 8)}`,
    config: { base_url: world.e2b.apiUrl },
    credentials: { api_key: world.e2b.apiKey },
  });
  return created.id;
}

export async function waitForSnapshot(
  world: CredentiallessWorld,
  snapshotId: string,
  timeoutMs: number,
): Promise<SnapshotView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = await world.api<SnapshotView>('GET', `/orgs/${world.orgId}/snapshots/${snapshotId}`);
    if (snapshot.status === 'ready' || snapshot.status === 'failed') return snapshot;
    if (Date.now() > deadline)
      throw new Error(`snapshot ${snapshotId} still ${snapshot.status} after ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

/** The session's transitions with their reasons, one line (for failure messages). */
export async function sessionHistory(world: CredentiallessWorld, sessionId: string): Promise<string> {
  const events = await world
    .api<{ items: Array<{ fromStatus: string | null; toStatus: string; reason: string | null }> }>(
      'GET',
      `/orgs/${world.orgId}/sessions/${sessionId}/events`,
    )
    .catch(() => ({ items: [] }));
  return events.items.map((e) => `${e.fromStatus ?? '∅'}→${e.toStatus}: ${e.reason ?? ''}`).join(' | ');
}

/** Until the session reaches one of `statuses`; a terminal status it was not waiting for fails fast. */
export async function waitForSession(
  world: CredentiallessWorld,
  sessionId: string,
  statuses: readonly string[],
  timeoutMs: number,
  pollMs = 500,
): Promise<SessionView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const session = await world.api<SessionView>('GET', `/orgs/${world.orgId}/sessions/${sessionId}`);
    if (statuses.includes(session.status)) return session;
    if (session.status === 'failed' || session.status === 'stopped')
      throw new Error(
        `session ${sessionId} ended ${session.status} (${session.failureReason ?? 'no reason'}) while waiting for ${statuses.join('|')}; ${await sessionHistory(world, sessionId)}`,
      );
    if (Date.now() > deadline)
      throw new Error(`session ${sessionId} still ${session.status} after ${timeoutMs / 1000} s`);
    await sleep(pollMs);
  }
}
