import { spawn } from 'node:child_process';
import { createPublicKey, randomBytes, timingSafeEqual, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type RestState, serveRest } from './github-rest.ts';

// A local stand-in for the parts of GitHub an agent session touches, faithful
// to GitHub's wire formats:
// - `POST /app/installations/{id}/access_tokens`: checks the RS256 app JWT
//   (signature against the App's public key, iss = app id, iat/exp window ≤ 10
//   min) and mints `ghs_…` installation tokens that expire.
// - git smart HTTP (`/{owner}/{repo}.git/info/refs`, `git-upload-pack`,
//   `git-receive-pack`) served by Debian's real `git http-backend`, accepting
//   only Basic `x-access-token:<installation token>` (or a configured PAT), as
//   GitHub does for HTTPS git.
// - the REST calls a run's report makes, and webhooks sent as GitHub sends
//   them: see github-rest.ts.

export interface GithubStandInInput {
  /** Directory holding bare repositories as `{owner}/{repo}.git`. */
  readonly projectRoot: string;
  readonly app?: { readonly id: string; readonly installationId: string; readonly publicKeyPem: string };
  /** Personal access tokens accepted for git and the API, besides minted installation tokens. */
  readonly personalTokens?: readonly string[];
  readonly tokenTtlSeconds?: number;
  readonly port?: number;
  /**
   * Loopback address to listen on (default 127.0.0.1). Sandboxes send 127.0.0.1 straight to
   * their own loopback (NO_PROXY), so a stand-in they must reach through the gateway listens on
   * another loopback address, e.g. 127.0.0.2.
   */
  readonly host?: string;
}

export interface GithubStandIn {
  readonly url: string;
  /** What the REST API received: comments posted (the reports), pull requests opened. */
  readonly rest: RestState;
  /** Installation tokens minted so far (to assert the sandbox never saw one). */
  readonly issuedTokens: readonly string[];
  /** Every request: path, and which credential (if any) authenticated it. */
  readonly requests: ReadonlyArray<{
    method: string;
    path: string;
    credential: 'app_jwt' | 'installation_token' | 'pat' | 'none' | 'rejected';
    /** For minted tokens: the repositories the token was scoped to, if any. */
    repositories?: readonly string[];
  }>;
  close(): Promise<void>;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(body));
}

function githubError(res: ServerResponse, status: number, message: string): void {
  json(res, status, { message, documentation_url: 'https://docs.github.com/rest', status: String(status) });
}

function base64url(text: string): Buffer {
  return Buffer.from(text.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
}

/** Verify a GitHub App JWT the way GitHub documents it; returns a reason on failure. */
function checkAppJwt(jwt: string, app: NonNullable<GithubStandInInput['app']>): string | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'A JSON web token could not be decoded';
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: unknown };
  let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(base64url(h).toString('utf8')) as typeof header;
    payload = JSON.parse(base64url(p).toString('utf8')) as typeof payload;
  } catch {
    return 'A JSON web token could not be decoded';
  }
  if (header.alg !== 'RS256') return "'alg' must be RS256";
  const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey(app.publicKeyPem), base64url(s));
  if (!ok) return 'A JSON web token could not be decoded';
  if (String(payload.iss) !== app.id) return "'Issuer' claim ('iss') must be an Integer";
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number')
    return "'Expiration time' claim ('exp') must be a numeric value";
  if (payload.iat > now + 60)
    return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
  if (payload.exp <= now) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  if (payload.exp - payload.iat > 600) return "'Expiration time' claim ('exp') is too far in the future";
  return undefined;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Run `git http-backend` as a CGI for one request and relay its answer. */
async function gitBackend(
  req: IncomingMessage,
  res: ServerResponse,
  projectRoot: string,
  user: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const body = await readBody(req);
  const child = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      REMOTE_USER: user, // enables receive-pack, as an authenticated push
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(body);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let head = Buffer.alloc(0);
  let headersSent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    headersSent = true;
    res.write(head.subarray(end + 4));
  });
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (!headersSent)
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`git http-backend failed: ${stderr}`);
  else res.end();
}

export async function startGithubStandIn(input: GithubStandInInput): Promise<GithubStandIn> {
  const issued = new Map<string, number>(); // token → expiry (ms)
  const requests: Array<GithubStandIn['requests'][number]> = [];
  const rest: RestState = { comments: [], pulls: [] };
  const url = () => {
    const address = server.address();
    return `http://${input.host ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : 0}`;
  };
  const ttl = (input.tokenTtlSeconds ?? 3600) * 1000;
  const pats = input.personalTokens ?? [];

  const tokenKind = (token: string): 'installation_token' | 'pat' | undefined => {
    const expiry = issued.get(token);
    if (expiry !== undefined && expiry > Date.now()) return 'installation_token';
    return pats.some((pat) => equal(pat, token)) ? 'pat' : undefined;
  };

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = req.method ?? 'GET';
    const auth = req.headers.authorization ?? '';
    // GitHub Enterprise Server serves the same endpoint under /api/v3.
    const mint = /^(?:\/api\/v3)?\/app\/installations\/([^/]+)\/access_tokens$/.exec(path);
    if (mint) {
      const app = input.app;
      const jwt = /^Bearer (.+)$/i.exec(auth)?.[1];
      if (!app || jwt === undefined) {
        requests.push({ method, path, credential: 'rejected' });
        return githubError(res, 401, 'A JSON web token could not be decoded');
      }
      const problem = checkAppJwt(jwt, app);
      if (problem) {
        requests.push({ method, path, credential: 'rejected' });
        return githubError(res, 401, problem);
      }
      requests.push({ method, path, credential: 'app_jwt' });
      if (method !== 'POST') return githubError(res, 404, 'Not Found');
      if (mint[1] !== app.installationId) return githubError(res, 404, 'Not Found');
      const body = await readBody(req);
      let repositories: string[] | undefined;
      try {
        const parsed =
          body.length > 0 ? (JSON.parse(body.toString('utf8')) as { repositories?: unknown }) : {};
        if (Array.isArray(parsed.repositories)) repositories = parsed.repositories.map(String);
      } catch {
        return githubError(res, 400, 'Problems parsing JSON');
      }
      if (repositories) {
        const last = requests.at(-1);
        if (last) last.repositories = repositories;
      }
      const token = `ghs_${randomBytes(18).toString('base64url')}`;
      const expiresAt = Date.now() + ttl;
      issued.set(token, expiresAt);
      return json(res, 201, {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: { contents: 'write', metadata: 'read' },
        repository_selection: repositories ? 'selected' : 'all',
        ...(repositories ? { repositories: repositories.map((name) => ({ name })) } : {}),
      });
    }

    if (/^\/[^/]+\/[^/]+\.git\//.test(path)) {
      const basic = /^Basic (.+)$/i.exec(auth)?.[1];
      const [user, password] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(/:(.*)/s) : [];
      const kind = password === undefined ? undefined : tokenKind(password);
      if (!kind || (kind === 'installation_token' && user !== 'x-access-token')) {
        requests.push({ method, path, credential: basic ? 'rejected' : 'none' });
        res
          .writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' })
          .end('Invalid username or token.\n');
        return;
      }
      requests.push({ method, path, credential: kind });
      return gitBackend(req, res, input.projectRoot, user ?? 'x-access-token');
    }

    const bearer = /^(?:Bearer|token) (.+)$/i.exec(auth)?.[1];
    const kind = bearer === undefined ? undefined : tokenKind(bearer);
    requests.push({ method, path, credential: kind ?? (bearer ? 'rejected' : 'none') });
    if (!kind) return githubError(res, 401, 'Bad credentials');
    if (method === 'GET' && path.replace(/^\/api\/v3/, '') === '/installation/repositories')
      return json(res, 200, { total_count: 0, repositories: [] });
    if (
      await serveRest(req, res, {
        projectRoot: input.projectRoot,
        baseUrl: url(),
        credential: kind,
        state: rest,
      })
    )
      return;
    return githubError(res, 404, 'Not Found');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, input.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${input.host ?? '127.0.0.1'}:${port}`,
    rest,
    get issuedTokens() {
      return [...issued.keys()];
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
