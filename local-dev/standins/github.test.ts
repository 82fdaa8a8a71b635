import { execFile } from 'node:child_process';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GithubStandIn, startGithubStandIn } from './github.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const APP = {
  id: '4242',
  installationId: '77',
  publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
};

function appJwt(claims: Record<string, unknown>, key = privateKey): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
// Asynchronous on purpose: the stand-in answers from this same process.
const run = promisify(execFile);
const git = async (args: string[], cwd: string) =>
  (
    await run('git', args, {
      cwd,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
    })
  ).stdout;

let dir: string;
let hub: GithubStandIn;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-gh-'));
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  await git(['init', '-q', '-b', 'main'], seed);
  writeFileSync(join(seed, 'README.md'), 'hello\n');
  await git(
    ['-c', 'user.email=a@b.c', '-c', 'user.name=A', 'commit', '-q', '--allow-empty', '-m', 'init'],
    seed,
  );
  await git(['add', 'README.md'], seed);
  await git(['-c', 'user.email=a@b.c', '-c', 'user.name=A', 'commit', '-q', '-m', 'readme'], seed);
  mkdirSync(join(dir, 'repos/acme'), { recursive: true });
  await git(['clone', '-q', '--bare', seed, join(dir, 'repos/acme/app.git')], dir);
  hub = await startGithubStandIn({
    projectRoot: join(dir, 'repos'),
    app: APP,
    personalTokens: ['ghp_personal0123456789'],
  });
});

afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function mint(jwt: string, body?: unknown) {
  return fetch(`${hub.url}/app/installations/${APP.installationId}/access_tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, accept: 'application/vnd.github+json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

describe('GitHub stand-in: installation tokens', () => {
  it('mints an expiring token for a valid app JWT, scoped to the repositories asked for', async () => {
    const response = await mint(appJwt({ iss: APP.id, iat: now() - 60, exp: now() + 540 }), {
      repositories: ['app'],
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      token: string;
      expires_at: string;
      repository_selection: string;
    };
    expect(body.token).toMatch(/^ghs_/);
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
    expect(body.repository_selection).toBe('selected');
  });

  it('refuses a JWT signed by another key, from another app, expired, or living too long', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases = [
      appJwt({ iss: APP.id, iat: now() - 60, exp: now() + 540 }, other),
      appJwt({ iss: '9999', iat: now() - 60, exp: now() + 540 }),
      appJwt({ iss: APP.id, iat: now() - 700, exp: now() - 100 }),
      appJwt({ iss: APP.id, iat: now(), exp: now() + 3600 }),
      'not.a.jwt',
    ];
    for (const jwt of cases) {
      const response = await mint(jwt);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ documentation_url: 'https://docs.github.com/rest' });
    }
  });
});

describe('GitHub stand-in: git over HTTPS', () => {
  it('clones and pushes with x-access-token and a minted token, through real git', async () => {
    const { token } = (await (
      await mint(appJwt({ iss: APP.id, iat: now() - 60, exp: now() + 540 }))
    ).json()) as { token: string };
    const work = join(dir, 'clone-ok');
    const url = `${hub.url.replace('http://', `http://x-access-token:${token}@`)}/acme/app.git`;
    await git(['clone', '-q', url, work], dir);
    expect(readFileSync(join(work, 'README.md'), 'utf8')).toBe('hello\n');
    writeFileSync(join(work, 'change.txt'), 'pushed\n');
    await git(['add', 'change.txt'], work);
    await git(['-c', 'user.email=a@b.c', '-c', 'user.name=A', 'commit', '-q', '-m', 'change'], work);
    await git(['push', '-q', 'origin', 'main'], work);
    expect(
      (await git(['--git-dir', join(dir, 'repos/acme/app.git'), 'log', '--format=%s', '-1'], dir)).trim(),
    ).toBe('change');
    expect(
      hub.requests.some((r) => r.path.endsWith('git-receive-pack') && r.credential === 'installation_token'),
    ).toBe(true);
  });

  it('refuses a wrong token, a placeholder, and no credential, as GitHub does', async () => {
    for (const userinfo of ['x-access-token:ghs_forged', 'x-access-token:airlock-brokered', '']) {
      const url = `${hub.url.replace('http://', userinfo ? `http://${userinfo}@` : 'http://')}/acme/app.git`;
      await expect(git(['clone', '-q', url, join(dir, `clone-${userinfo.length}`)], dir)).rejects.toThrow(
        /Authentication failed|could not read Username|401/,
      );
    }
  });

  it('accepts a personal access token', async () => {
    const url = `${hub.url.replace('http://', 'http://someone:ghp_personal0123456789@')}/acme/app.git`;
    const refs = await git(['ls-remote', url], dir);
    expect(refs).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/m);
    expect(hub.requests.some((r) => r.credential === 'pat')).toBe(true);
  });
});
