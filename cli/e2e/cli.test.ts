import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { apiTokens, memberships, snapshotLogs, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type SessionWorld, startSessionWorld } from '../../local-dev/e2e/session-world.ts';
import { HASH_PURPOSE, hashSecret, randomSecret } from '../../workers/lib/secret-hash.ts';
import { loginApprover } from './approver.ts';
import { cliHome, PtyCli, run, start, until } from './run-cli.ts';

// The built CLI (dist/airlock.js) as a user runs it, against the real stack:
// the Worker under `wrangler dev`, a runner, Docker sandboxes, Postgres,
// Redis and the mail sink. `attach` runs under a real pseudo-terminal.

let world: SessionWorld & { agentImage: string };
let profileName: string;
let sessionId: string;
/** The org owner's CLI environment (AIRLOCK_TOKEN), as in CI or a script. */
let owner: Record<string, string>;

beforeAll(async () => {
  world = await startSessionWorld(inject('airlock'), { maxSessions: 2 });
  await world.startRunner();
  const profileId = await world.profile({ image: world.agentImage });
  const listed = await world.api<{ name: string }>('GET', `/orgs/${world.orgId}/profiles/${profileId}`);
  profileName = listed.body.name;
  owner = cliHome({ AIRLOCK_URL: world.workerUrl, AIRLOCK_TOKEN: world.token }).env;
}, 900_000);

afterAll(async () => {
  await world?.stop();
});

const email = async () => {
  const me = await world.api<{ user: { email: string } }>('GET', '/me');
  return me.body.user.email;
};

describe('airlock login (device code)', () => {
  it('shows a code, receives the token once it is approved, and stores it 0600 in a 0700 directory', async () => {
    const { env, home } = cliHome();
    const login = start(['login', '--url', world.workerUrl], env);
    await until('the user code', () => /code ([A-Z]{4}-[A-Z]{4})/.test(login.stderr()), login.stderr);
    const userCode = /code ([A-Z]{4}-[A-Z]{4})/.exec(login.stderr())?.[1] ?? '';
    expect(login.stderr()).toContain('/device');

    const approver = await loginApprover({
      workerUrl: world.workerUrl,
      mailUrl: inject('airlock').mailUrl,
      publicUrl: world.config.services.public_url,
      email: await email(),
    });
    const info = await approver.lookup(userCode);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ client: { name: 'airlock CLI', version: '0.1.0' } });
    expect(await approver.approve(userCode, world.orgId)).toBe(200);

    const done = await login.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain('Logged in');
    const path = join(home, '.config/airlock/credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { token: string; url: string; orgId: string };
    expect(stored).toMatchObject({ url: world.workerUrl, orgId: world.orgId });
    // The token is never printed.
    expect(done.stdout + done.stderr).not.toContain(stored.token);

    const whoami = await run(['whoami'], env);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout).toContain(await email());
    const orgs = await run(['--json', 'orgs', 'list'], env);
    expect(JSON.parse(orgs.stdout)).toEqual([expect.objectContaining({ orgId: world.orgId, role: 'owner' })]);

    const logout = await run(['logout'], env);
    expect(logout.code, logout.stderr).toBe(0);
    const after = await world.api('GET', '/me');
    expect(after.status).toBe(200); // the world's own token is untouched
    const revoked = await fetch(`${world.workerUrl}/api/me`, {
      headers: { authorization: `Bearer ${stored.token}` },
    });
    expect(revoked.status).toBe(401);
    expect((await run(['whoami'], env)).code).toBe(1);
  });

  it('says so, with a non-zero exit, when the login is denied', async () => {
    const { env } = cliHome();
    const login = start(['login', '--url', world.workerUrl], env);
    await until('the user code', () => /code ([A-Z]{4}-[A-Z]{4})/.test(login.stderr()), login.stderr);
    const userCode = /code ([A-Z]{4}-[A-Z]{4})/.exec(login.stderr())?.[1] ?? '';
    const approver = await loginApprover({
      workerUrl: world.workerUrl,
      mailUrl: inject('airlock').mailUrl,
      publicUrl: world.config.services.public_url,
      email: await email(),
    });
    expect(await approver.deny(userCode)).toBe(200);
    const done = await login.done;
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/error: The login was denied in the dashboard\.\n$/);
  });

  it('stores a token given with --token (read from stdin with -)', async () => {
    const { env, home } = cliHome();
    const done = await run(['login', '--url', world.workerUrl, '--token', '-'], env, `${world.token}\n`);
    expect(done.code, done.stderr).toBe(0);
    const path = join(home, '.config/airlock/credentials.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await run(['--json', 'whoami'], env)).stdout).toContain(world.orgId);
  });
});

describe('errors', () => {
  it('renders problem+json as one line with a non-zero exit; --json puts the problem on stderr', async () => {
    const missing = await run(['sessions', 'show', 'ses_00000000000000000000000000'], owner);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: No session ses_0+ in this org\. \(HTTP 404 not_found\)\n$/);
    const json = await run(['--json', 'sessions', 'show', 'ses_00000000000000000000000000'], owner);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { status: 404, code: 'not_found' } });
    const bad = await run(['whoami'], { ...owner, AIRLOCK_TOKEN: 'alk_not-a-token' });
    expect(bad.stderr).toMatch(
      /^error: The API token is not valid\. \(HTTP 401 unauthenticated; run `airlock login`\)\n$/,
    );
    const usage = await run(['sessions', 'start'], owner);
    expect(usage.code).toBe(2);
    const unknown = await run(['frobnicate'], owner);
    expect(unknown.code).toBe(2);
  });
});

describe('sessions, attach, logs, audit', () => {
  it('lists and shows what the org has', async () => {
    const profiles = await run(['profiles', 'list'], owner);
    expect(profiles.code, profiles.stderr).toBe(0);
    expect(profiles.stdout).toMatch(/ID\s+NAME\s+PUBLISHED/);
    expect(profiles.stdout).toContain(profileName);
    const shown = await run(['--json', 'profiles', 'show', profileName], owner);
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: profileName });
    for (const resource of ['snapshots', 'sessions', 'triggers', 'connections']) {
      const listed = await run(['--json', resource, 'list'], owner);
      expect(listed.code, `${resource}: ${listed.stderr}`).toBe(0);
      expect(JSON.parse(listed.stdout)).toHaveProperty('items');
    }
    const connections = await run(['connections', 'list'], owner);
    expect(connections.stdout).toContain('openai');
  });

  it('starts a session and waits for it to run, showing progress', async () => {
    const started = await run(['sessions', 'start', '--profile', profileName, '--wait'], owner);
    expect(started.code, started.stderr).toBe(0);
    sessionId = started.stdout.trim();
    expect(sessionId).toMatch(/^ses_[0-9A-Z]{26}$/);
    expect(started.stderr).toMatch(/Starting ses_\w+: (pending|provisioning|starting)/);
    expect(started.stderr).toContain(`airlock attach ${sessionId}`);
    const shown = await run(['--json', 'sessions', 'show', sessionId], owner);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: sessionId, status: 'running' });
  });

  it('attaches to a shell: types, sees output, resizes, detaches, re-attaches to the scrollback', async () => {
    const first = new PtyCli(['attach', sessionId, '--terminal', 'shell'], owner, { cols: 100, rows: 30 });
    try {
      await first.waitFor('attached to "shell"');
      await first.waitFor(/you type|you have the keyboard/);
      first.type('echo "in $(id -un) sum=$((6*7))"\r');
      await first.waitFor('in sandbox sum=42');
      first.type('stty size\r');
      await first.waitFor('30 100');
      const mark = first.output.length;
      first.resize(120, 40);
      // The resize travels to the sandbox's PTY: the shell there sees the new size.
      await new Promise((resolve) => setTimeout(resolve, 500));
      first.type('stty size\r');
      await first.waitFor('40 120', mark);
      first.type('\x1d'); // Ctrl-], the detach key: never sent to the sandbox
      expect(await first.exited).toBe(0);
      expect(first.output).toContain('detached');
    } finally {
      first.kill();
    }

    const again = new PtyCli(['attach', sessionId, '--terminal', 'shell'], owner);
    try {
      await again.waitFor('attached to "shell"');
      // Before anything is typed, the replayed scrollback shows the earlier session.
      await again.waitFor('in sandbox sum=42');
      again.type('\x1d');
      expect(await again.exited).toBe(0);
    } finally {
      again.kill();
    }
  });

  it('attaches read-only for a member who may not type, and refuses their input visibly', async () => {
    const userId = newId('user');
    await world.db.insert(users).values({ id: userId, email: `${userId.toLowerCase()}@example.test` });
    await world.db
      .insert(memberships)
      .values({ id: newId('membership'), orgId: world.orgId, userId, role: 'member' });
    const token = `alk_${randomSecret(24)}`;
    await world.db.insert(apiTokens).values({
      id: newId('apiToken'),
      orgId: world.orgId,
      userId,
      name: 'member',
      displayPrefix: token.slice(0, 8),
      tokenHash: await hashSecret(world.config.auth.pepper, HASH_PURPOSE.apiToken, token),
    });
    const member = { ...owner, AIRLOCK_TOKEN: token };
    const viewer = new PtyCli(['attach', sessionId, '--terminal', 'shell'], member);
    try {
      await viewer.waitFor('read-only: you can watch but not type');
      await viewer.waitFor('in sandbox sum=42'); // the scrollback, even read-only
      const mark = viewer.output.length;
      viewer.type('echo "member-was-here-$((1+1))"\r');
      await viewer.waitFor('read-only: your input is not sent', mark);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(viewer.since(mark)).not.toContain('member-was-here-2');
      viewer.type('\x1d');
      expect(await viewer.exited).toBe(0);
    } finally {
      viewer.kill();
    }
  });

  it("prints a terminal's scrollback with logs, and follows it until the session ends", async () => {
    const once = await run(['logs', sessionId, '--terminal', 'shell'], owner);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toContain('in sandbox sum=42');

    const follow = start(['logs', sessionId, '--terminal', 'shell', '--follow'], owner);
    // With another viewer attached, typing is an explicit choice: --take-over.
    const typist = new PtyCli(['attach', sessionId, '--terminal', 'shell', '--take-over'], owner);
    try {
      await typist.waitFor(/you type|you have the keyboard/);
      typist.type('echo "followed-$((2+3))"\r');
      await until('followed output in logs -f', () => follow.stdout().includes('followed-5'), follow.stdout);
      typist.type('\x1d');
      await typist.exited;
    } finally {
      typist.kill();
    }

    // A denied request from the sandbox, for the audit below.
    const shell = new PtyCli(['attach', sessionId, '--terminal', 'shell', '--take-over'], owner);
    try {
      await shell.waitFor(/you type|you have the keyboard/);
      shell.type('curl -s -o /dev/null -w "code=%{http_code}\\n" http://denied.example.test/x\r');
      // Through sandboxd's proxy to the gateway, which refuses it: nothing in the plan allows that host.
      await shell.waitFor('code=403');
      shell.type('\x1d');
      await shell.exited;
    } finally {
      shell.kill();
    }

    const stopped = await run(['sessions', 'stop', sessionId, '--wait'], owner);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toContain('stopped');
    const followed = await follow.done;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stderr).toMatch(/session has ended|process exited/);

    // Ended: the terminals are closed; logs shows the session's history instead.
    const history = await run(['logs', sessionId], owner);
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/running → stopping/);
  });

  it('searches the audit trail by session and host', async () => {
    let found = '';
    for (let i = 0; i < 30 && !found.includes('denied.example.test'); i++) {
      found = (await run(['audit', '--session', sessionId, '--host', 'denied.example.test'], owner)).stdout;
      if (!found.includes('denied.example.test')) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const all = found.includes('denied.example.test')
      ? ''
      : (await run(['--json', 'audit', '--session', sessionId], owner)).stdout;
    expect(found, all).toMatch(/egress\s+denied\s+GET\s+denied\.example\.test\s+\/x\s+403/);
    const control = await run(['--json', 'audit', '--session', sessionId, '--kind', 'control'], owner);
    const items = (JSON.parse(control.stdout) as { items: Array<{ action: string }> }).items;
    expect(items.map((e) => e.action)).toEqual(expect.arrayContaining(['session.terminal_opened']));
    const bad = await run(['audit', '--decision', 'maybe'], owner);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --decision: /);
  });

  it("prints a snapshot's build log", async () => {
    const snapshots = await world.api<{ items: Array<{ id: string }> }>(
      'GET',
      `/orgs/${world.orgId}/snapshots`,
    );
    const snapshotId = snapshots.body.items[0]?.id ?? '';
    await world.db.insert(snapshotLogs).values([
      { snapshotId, seq: 1, stream: 'stdout', text: 'cloning widgets' },
      { snapshotId, seq: 2, stream: 'stderr', text: 'setup done' },
    ]);
    const printed = await run(['logs', snapshotId, '--follow'], owner);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe('cloning widgets\nsetup done\n');
  });
});
