import { readFileSync } from 'node:fs';
import { DeviceAuthorization, DeviceTokenGranted, Me, Ok } from '@airlock/schema/api';
import pc from 'picocolors';
import { ApiClient, ApiError } from '../api-client.ts';
import { clientInfo, createContext, type GlobalOptions, serverUrl, USER_AGENT } from '../context.ts';
import { credentialsPath, readCredentials, removeCredentials, writeCredentials } from '../credentials.ts';
import { CliError, Output, printable } from '../output.ts';

// `airlock login`: device-code style (ADR 0170). The CLI shows a code, the
// user approves it in the dashboard (choosing the org), and the CLI receives
// an API token that it stores 0600. `--token` stores a token made elsewhere.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function deviceLogin(api: ApiClient, out: Output): Promise<DeviceTokenGranted> {
  const started = await api.request('POST', '/auth/device', DeviceAuthorization, {
    body: { client: clientInfo() },
  });
  out.note(
    `To log in, open ${pc.bold(printable(started.verificationUri))} and enter the code ${pc.bold(pc.cyan(printable(started.userCode)))}`,
  );
  out.note(
    pc.dim(`(or open ${printable(started.verificationUriComplete)}; approve only if the code matches)`),
  );
  const deadline = Date.now() + started.expiresIn * 1000;
  let interval = started.interval;
  const progress = out.progress(`Waiting for approval of ${started.userCode} in the dashboard`);
  try {
    for (;;) {
      await sleep(interval * 1000);
      if (Date.now() > deadline)
        throw new CliError('The code expired before it was approved; run `airlock login` again.');
      try {
        const granted = await api.request('POST', '/auth/device/token', DeviceTokenGranted, {
          body: { deviceCode: started.deviceCode },
        });
        progress.stop('Approved');
        return granted;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 400) throw error;
        const code = error.extension('error');
        if (code === 'authorization_pending') continue;
        if (code === 'slow_down') {
          const next = error.extension('interval');
          interval = typeof next === 'number' && next > interval ? next : interval + 5;
          continue;
        }
        if (code === 'access_denied') throw new CliError('The login was denied in the dashboard.');
        if (code === 'expired_token')
          throw new CliError('The code expired before it was approved; run `airlock login` again.');
        throw error;
      }
    }
  } finally {
    progress.stop();
  }
}

function readToken(given: string): string {
  const token = given === '-' ? readFileSync(0, 'utf8').trim() : given.trim();
  if (!token.startsWith('alk_')) throw new CliError('--token: an Airlock API token starts with alk_', 2);
  return token;
}

export async function login(options: GlobalOptions): Promise<void> {
  const out = new Output({ json: options.json === true });
  const url = serverUrl(options);
  const path = credentialsPath();
  let saved: { token: string; orgId: string; email: string; tokenId: string | null };
  if (options.token !== undefined) {
    const token = readToken(options.token);
    const me = await new ApiClient({ url, token, userAgent: USER_AGENT }).request('GET', '/me', Me);
    if (me.tokenOrgId === null) throw new CliError('This token is not an org API token.');
    saved = { token, orgId: me.tokenOrgId, email: me.user.email, tokenId: null };
  } else {
    const granted = await deviceLogin(new ApiClient({ url, userAgent: USER_AGENT }), out);
    saved = {
      token: granted.token,
      orgId: granted.orgId,
      email: granted.email,
      tokenId: granted.apiToken.id,
    };
  }
  writeCredentials(path, { version: 1, url, ...saved });
  const result = { url, email: saved.email, orgId: saved.orgId, tokenId: saved.tokenId, credentials: path };
  if (out.json) out.data(result);
  else out.success(`Logged in to ${url} as ${saved.email} (org ${saved.orgId}); token saved in ${path}`);
}

export async function logout(options: GlobalOptions): Promise<void> {
  const path = credentialsPath();
  const stored = readCredentials(path);
  const out = new Output({ json: options.json === true });
  if (stored === null) {
    out.note('Not logged in.');
    return;
  }
  // Revoke the token on the server first, so a copy of the file is worthless too.
  if (stored.tokenId !== null) {
    const ctx = createContext({ ...options, url: stored.url });
    await ctx.api
      .request('DELETE', `/orgs/${stored.orgId}/tokens/${stored.tokenId}`, Ok)
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && (error.status === 401 || error.status === 404))) throw error;
      });
  }
  removeCredentials(path);
  if (out.json) out.data({ loggedOut: true, revoked: stored.tokenId });
  else
    out.success(
      `Logged out of ${stored.url}${stored.tokenId === null ? '' : `; token ${stored.tokenId} revoked`}`,
    );
}

export async function whoami(options: GlobalOptions): Promise<void> {
  const ctx = createContext(options);
  const me = await ctx.api.request('GET', '/me', Me);
  ctx.out.record(me, [
    ['email', me.user.email],
    ['user', me.user.id],
    ['org', me.memberships.map((m) => `${m.orgName} (${m.orgId}, ${m.role})`).join(', ')],
    ['server', ctx.api.url],
    ['via', me.via],
  ]);
}
