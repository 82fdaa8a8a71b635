import { spawn } from 'node:child_process';
import type { BenchResult } from '../bench.ts';
import { type CredentiallessWorld, startCredentiallessWorld } from '../e2e/credentialless-world.ts';
import { publishCodexProfile, waitForSession, waitForSnapshot } from '../e2e/sessions.ts';
import { startStack } from '../stack.ts';

// Session start as a user feels it: from POST /sessions to the first byte of
// the agent's terminal through the API's WebSocket (/pty), on a ready snapshot
// of a codex profile, against the same image started with a bare
// `docker run` (to its first output byte) in the same run. Then 20 sessions
// started at once against 20 concurrent `docker run`s (p50, p95). The goal
// (ADR 0048): one session within docker run + 300 ms. Printed, never asserted.

const SINGLE_ROUNDS = 3;
const CONCURRENT = 20;
const GOAL_OVERHEAD_MS = 300;
const RETRY_MS = 100;

const say = (line: string) => process.stdout.write(`${line}\n`);
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: readonly number[], p: number) =>
  Math.round(sorted(xs)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? Number.NaN);
const median = (xs: readonly number[]) => pct(xs, 50);

/** `docker run` of the image until its process's first output byte. */
function dockerRunFirstByte(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('docker', ['run', '--rm', '--network', 'none', image, 'sh', '-c', 'printf x'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let done = false;
    child.stdout.once('data', () => {
      done = true;
      resolve(performance.now() - started);
    });
    child.once('exit', (code) => {
      if (!done) reject(new Error(`docker run exited ${code} before printing`));
    });
  });
}

/** One attach: the first binary frame's arrival, or null when the socket fails or closes first. */
function firstFrame(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      socket.close();
      resolve(null);
    }, 300_000);
    const done = (at: number | null) => {
      clearTimeout(timer);
      resolve(at);
    };
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') return;
      done(performance.now());
      socket.close();
    });
    socket.addEventListener('error', () => done(null));
    socket.addEventListener('close', () => done(null));
  });
}

/**
 * POST /sessions → pty-token → WebSocket → first binary frame (the agent's first terminal
 * output), as the dashboard does it: it polls the session and attaches once the sandbox is
 * starting (before that the gateway does not know the session); an attach that still finds no
 * terminal is retried every RETRY_MS with a fresh single-use token.
 */
async function sessionFirstByte(
  world: CredentiallessWorld,
  profileId: string,
): Promise<{ ms: number; sessionId: string }> {
  const started = performance.now();
  const session = await world.api<{ id: string }>('POST', `/orgs/${world.orgId}/sessions`, {
    profileId,
    mode: 'interactive',
  });
  const deadline = started + 300_000;
  const attachable = ['starting', 'running'];
  let status = 'pending';
  while (!attachable.includes(status) && performance.now() < deadline) {
    const now = await world.api<{ status: string; failureReason: string | null }>(
      'GET',
      `/orgs/${world.orgId}/sessions/${session.id}`,
    );
    if (now.status === 'failed' || now.status === 'stopped')
      throw new Error(`session ${session.id} ended ${now.status}: ${now.failureReason ?? 'no reason'}`);
    status = now.status;
    if (!attachable.includes(status)) await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  while (performance.now() < deadline) {
    const { url } = await world.api<{ url: string }>(
      'POST',
      `/orgs/${world.orgId}/sessions/${session.id}/pty-token`,
      { mode: 'ro' },
    );
    const at = await firstFrame(url);
    if (at !== null) return { ms: Math.round(at - started), sessionId: session.id };
    const now = await world.api<{ status: string; failureReason: string | null }>(
      'GET',
      `/orgs/${world.orgId}/sessions/${session.id}`,
    );
    if (now.status === 'failed' || now.status === 'stopped')
      throw new Error(`session ${session.id} ended ${now.status}: ${now.failureReason ?? 'no reason'}`);
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  throw new Error(`no terminal output from ${session.id} in 300 s`);
}

async function stopAll(world: CredentiallessWorld, sessionIds: readonly string[]): Promise<void> {
  await Promise.all(
    sessionIds.map(async (id) => {
      await world.api('POST', `/orgs/${world.orgId}/sessions/${id}/stop`, {}).catch(() => {});
      await waitForSession(world, id, ['stopped', 'failed'], 180_000).catch(() => {});
    }),
  );
}

export async function run(): Promise<BenchResult[]> {
  const stack = await startStack({ publicUrl: 'http://127.0.0.1:8787', env: {} });
  let world: CredentiallessWorld | undefined;
  try {
    world = await startCredentiallessWorld(stack, {
      capacity: CONCURRENT + 2,
      log: (line) => {
        if (line.startsWith('image')) say(line);
      },
      vars: {
        AIRLOCK_LIMITS_MAX_CONCURRENT_SESSIONS_PER_ORG: String(CONCURRENT + 5),
        AIRLOCK_LIMITS_SESSION_STARTS_PER_MINUTE: String(CONCURRENT * 5),
      },
    });
    say('bench   │ publishing a codex profile and building its snapshot');
    const profile = await publishCodexProfile(world, { setupScript: 'true' });
    const snapshot = await waitForSnapshot(world, profile.snapshotId, 900_000);
    if (snapshot.status !== 'ready' || !snapshot.imageRef)
      throw new Error(`the snapshot did not build: ${snapshot.failureReason ?? snapshot.status}`);
    const image = snapshot.imageRef;

    await dockerRunFirstByte(image); // warm the image's layers once for both sides
    const docker: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < SINGLE_ROUNDS; round++) {
      docker.push(await dockerRunFirstByte(image));
      const started = await sessionFirstByte(world, profile.profileId);
      single.push(started.ms);
      await stopAll(world, [started.sessionId]);
      say(
        `bench   │ round ${round + 1}: docker run ${Math.round(docker.at(-1) ?? 0)} ms, session ${started.ms} ms`,
      );
    }
    const dockerMs = median(docker);
    const sessionMs = median(single);

    say(`bench   │ ${CONCURRENT} concurrent docker runs`);
    const dockerMany = await Promise.all(Array.from({ length: CONCURRENT }, () => dockerRunFirstByte(image)));
    say(`bench   │ ${CONCURRENT} concurrent session starts`);
    const many = await Promise.all(
      Array.from({ length: CONCURRENT }, () =>
        sessionFirstByte(world as CredentiallessWorld, profile.profileId),
      ),
    );
    await stopAll(
      world,
      many.map((m) => m.sessionId),
    );
    const manyMs = many.map((m) => m.ms);
    return [
      {
        name: 'session start: POST /sessions → first PTY byte (median)',
        value: sessionMs,
        unit: 'ms',
        baseline: dockerMs,
        baselineName: 'docker run → first byte',
        goal: dockerMs + GOAL_OVERHEAD_MS,
      },
      {
        name: 'session start overhead over docker run',
        value: sessionMs - dockerMs,
        unit: 'ms',
        goal: GOAL_OVERHEAD_MS,
      },
      {
        name: `${CONCURRENT} concurrent session starts, p50`,
        value: median(manyMs),
        unit: 'ms',
        baseline: median(dockerMany),
        baselineName: `${CONCURRENT} concurrent docker runs p50`,
      },
      {
        name: `${CONCURRENT} concurrent session starts, p95`,
        value: pct(manyMs, 95),
        unit: 'ms',
        baseline: pct(dockerMany, 95),
        baselineName: `${CONCURRENT} concurrent docker runs p95`,
      },
    ];
  } finally {
    await world?.stop();
    await stack.stop();
  }
}
