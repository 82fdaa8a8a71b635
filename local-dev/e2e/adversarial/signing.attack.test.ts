import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auditEvents } from '@airlock/schema/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AIRLOCK_SIGN,
  applyPlan,
  createSessionRows,
  type GatewayWorld,
  type Sandbox,
  type SessionRows,
  startGatewayWorld,
  startSandboxd,
} from '../gateway-world.ts';

// Attack, end to end: code in the sandbox uses the commit-signing socket as a
// signing oracle for the org's key — through the real airlock-sign and the
// real sandboxd, against the real gateway under `wrangler dev`. The gateway
// signs only git commit and tag objects in the `git` namespace, at most
// `signaturesPerMinute` per session, and audits each by its object summary
// (ADR 0120). A real `git commit -S` and `git tag -s` still verify with
// `ssh-keygen -Y verify`.

const run = promisify(execFile);
let world: GatewayWorld;

interface Session {
  readonly rows: SessionRows;
  readonly sandbox: Sandbox;
  /** The org's signing key (public half) and a file naming it for the git identity. */
  readonly publicKey: string;
  readonly pubFile: string;
  readonly allowedSigners: string;
}
const sessions: Session[] = [];

async function session(settings: { signaturesPerMinute?: number } = {}): Promise<Session> {
  const rows = await createSessionRows(world);
  await applyPlan(world, rows, [], [], settings);
  const sandbox = await startSandboxd(world, rows);
  const { publicKey } = await world.harness<{ publicKey: string }>(rows.sessionId, 'signing-key');
  const pubFile = join(world.dir, `${rows.sessionId}.pub`);
  writeFileSync(pubFile, `${publicKey}\n`);
  const allowedSigners = join(world.dir, `${rows.sessionId}.allowed_signers`);
  writeFileSync(allowedSigners, `dev@example.test ${publicKey}\n`);
  const s = { rows, sandbox, publicKey, pubFile, allowedSigners };
  sessions.push(s);
  return s;
}

beforeAll(async () => {
  world = await startGatewayWorld(inject('airlock'));
}, 240_000);

afterAll(async () => {
  for (const s of sessions) await s.sandbox.stop();
  await world?.stop();
});

/** A command as sandbox code would run it: only the sign socket, no key. */
function inSandbox(sandbox: Sandbox, command: string, args: string[], cwd: string) {
  return run(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      AIRLOCK_SIGN_SOCKET: sandbox.signSocket,
    },
  });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return `${(error as { stderr?: string }).stderr ?? ''}${String(error)}`;
  }
  throw new Error('expected the command to fail');
}

/** A repository set up to sign with the org key through airlock-sign. */
async function signingRepo(s: Session, name: string): Promise<string> {
  const repo = join(world.dir, name);
  mkdirSync(repo, { recursive: true });
  const g = (...args: string[]) => inSandbox(s.sandbox, 'git', args, repo);
  await g('init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'Dev'],
    ['user.email', 'dev@example.test'],
    ['gpg.format', 'ssh'],
    ['gpg.ssh.program', AIRLOCK_SIGN],
    ['user.signingkey', s.pubFile],
    ['gpg.ssh.allowedSignersFile', s.allowedSigners],
  ] as const)
    await g('config', k, v);
  return repo;
}

/** Split a signed commit object into what was signed and the armored signature. */
function splitCommit(raw: string): { payload: string; signature: string } {
  const lines = raw.split('\n');
  const start = lines.findIndex((l) => l.startsWith('gpgsig '));
  let end = start + 1;
  while (lines[end]?.startsWith(' ')) end++;
  const signature = [
    lines[start]?.slice('gpgsig '.length),
    ...lines.slice(start + 1, end).map((l) => l.slice(1)),
  ];
  return {
    payload: [...lines.slice(0, start), ...lines.slice(end)].join('\n'),
    signature: `${signature.join('\n')}\n`,
  };
}

async function sshVerify(s: Session, payload: string, signature: string, label: string): Promise<string> {
  const sig = join(world.dir, `${label}.sig`);
  const data = join(world.dir, `${label}.data`);
  writeFileSync(sig, signature);
  writeFileSync(data, payload);
  const { stdout, stderr } = await run('sh', [
    '-c',
    `ssh-keygen -Y verify -f "$1" -I dev@example.test -n git -s "$2" < "$3"`,
    'verify',
    s.allowedSigners,
    sig,
    data,
  ]);
  return `${stdout}${stderr}`;
}

async function trail(sessionId: string) {
  await world.harness(sessionId, 'flush-audit');
  return world.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.sessionId, sessionId))
    .orderBy(auditEvents.at);
}

describe('the sandbox signing socket', () => {
  it('refuses another namespace and payloads that are not commits or tags; real git still signs', async () => {
    const s = await session();
    const { rows, sandbox } = s;
    const sign = (namespace: string, file: string) =>
      inSandbox(sandbox, AIRLOCK_SIGN, ['-Y', 'sign', '-n', namespace, '-f', s.pubFile, file], world.dir);

    const manifest = join(world.dir, 'release-manifest.txt');
    writeFileSync(manifest, 'artifact sha256 0123456789abcdef\n');
    const namespaced = await failure(sign('file', manifest));
    expect(namespaced).toContain('NAMESPACE_NOT_ALLOWED');
    expect(existsSync(`${manifest}.sig`)).toBe(false);

    const blob = join(world.dir, 'blob.bin');
    writeFileSync(blob, crypto.getRandomValues(new Uint8Array(2048)));
    expect(await failure(sign('git', blob))).toContain('NOT_A_GIT_OBJECT');
    // The shape of an SSH user-authentication request (RFC 4252 §7), as a login challenge would be.
    const challenge = join(world.dir, 'challenge.bin');
    writeFileSync(
      challenge,
      Buffer.concat([
        Buffer.from([0, 0, 0, 32]),
        Buffer.from(crypto.getRandomValues(new Uint8Array(32))),
        Buffer.from([50, 0, 0, 0, 3]),
        Buffer.from('git'),
        Buffer.from([0, 0, 0, 14]),
        Buffer.from('ssh-connection'),
      ]),
    );
    expect(await failure(sign('git', challenge))).toContain('NOT_A_GIT_OBJECT');
    expect(existsSync(`${blob}.sig`) || existsSync(`${challenge}.sig`)).toBe(false);

    const repo = await signingRepo(s, 'signed');
    const g = (...args: string[]) => inSandbox(sandbox, 'git', args, repo);
    await g('commit', '-q', '-S', '--allow-empty', '-m', 'first');
    await g('commit', '-q', '-S', '--allow-empty', '-m', 'second, signed through the gateway');
    await g('tag', '-s', 'v1.0.0', '-m', 'release v1.0.0');
    const verified = await g('verify-commit', '-v', 'HEAD');
    expect(`${verified.stdout}${verified.stderr}`).toContain('Good "git" signature for dev@example.test');
    const raw = (await g('cat-file', 'commit', 'HEAD')).stdout;
    const { payload, signature } = splitCommit(raw);
    expect(await sshVerify(s, payload, signature, 'commit')).toContain(
      'Good "git" signature for dev@example.test',
    );
    const rawTag = (await g('cat-file', 'tag', 'v1.0.0')).stdout;
    const cut = rawTag.indexOf('-----BEGIN SSH SIGNATURE-----');
    expect(await sshVerify(s, rawTag.slice(0, cut), rawTag.slice(cut), 'tag')).toContain(
      'Good "git" signature',
    );

    const tree = (await g('rev-parse', 'HEAD^{tree}')).stdout.trim();
    const parent = (await g('rev-parse', 'HEAD~1')).stdout.trim();
    const head = (await g('rev-parse', 'HEAD')).stdout.trim();
    const events = (await trail(rows.sessionId)).filter((e) => e.action === 'commit.signed');
    expect(events.map((e) => [e.decision, e.detail.error ?? null])).toEqual([
      ['denied', 'NAMESPACE_NOT_ALLOWED'],
      ['denied', 'NOT_A_GIT_OBJECT'],
      ['denied', 'NOT_A_GIT_OBJECT'],
      ['brokered', null],
      ['brokered', null],
      ['brokered', null],
    ]);
    expect(events[4]).toMatchObject({
      actorUserId: rows.userId,
      detail: { namespace: 'git', object: 'commit', tree, parents: parent, parentCount: 1 },
    });
    expect(events[5]?.detail).toMatchObject({
      object: 'tag',
      tag: 'v1.0.0',
      target: head,
      targetType: 'commit',
    });
    expect(JSON.stringify(events)).not.toContain('second, signed through the gateway');
  });

  it('stops a burst past the per-session rate with a clear error', async () => {
    const s = await session({ signaturesPerMinute: 3 });
    const { rows, sandbox } = s;
    const repo = await signingRepo(s, 'burst');
    const g = (...args: string[]) => inSandbox(sandbox, 'git', args, repo);
    for (let i = 0; i < 3; i++) await g('commit', '-q', '-S', '--allow-empty', '-m', `burst ${i}`);
    const refused = await failure(g('commit', '-q', '-S', '--allow-empty', '-m', 'one too many'));
    expect(refused).toContain('RATE_LIMITED');
    expect(refused).toContain('3 signatures per minute');
    expect((await g('rev-list', '--count', 'HEAD')).stdout.trim()).toBe('3');
    const events = (await trail(rows.sessionId)).filter((e) => e.action === 'commit.signed');
    expect(events.map((e) => [e.decision, e.detail.error ?? null])).toEqual([
      ['brokered', null],
      ['brokered', null],
      ['brokered', null],
      ['denied', 'RATE_LIMITED'],
    ]);
  });
});
