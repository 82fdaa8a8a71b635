import { hostname } from 'node:os';
import { Me } from '@airlock/schema/api';
import { ApiClient } from './api-client.ts';
import { credentialsPath, readCredentials } from './credentials.ts';
import { CliError, Output } from './output.ts';
import { VERSION } from './version.ts';

// What every command works with: where the server is, who we are (an API
// token from --token, AIRLOCK_TOKEN or the stored login), which org the token
// acts in, and how to print.

export const DEFAULT_URL = 'http://127.0.0.1:8787';

export interface GlobalOptions {
  readonly json?: boolean;
  readonly url?: string;
  readonly token?: string;
}

export const USER_AGENT = `airlock-cli/${VERSION} (node ${process.versions.node}; ${process.platform})`;

export function clientInfo() {
  return {
    name: 'airlock CLI',
    version: VERSION,
    // The server refuses control and formatting characters in what the approver is shown.
    hostname: hostname()
      .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
      .slice(0, 100),
    platform: process.platform,
  };
}

export interface Context {
  readonly out: Output;
  readonly api: ApiClient;
  /** The org the token acts in (an API token belongs to one org). */
  orgId(): Promise<string>;
}

function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--url: not a URL: ${raw}`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--url: use http(s), not ${url.protocol}`, 2);
  return url.origin;
}

/** The server URL alone (for `login`, which has no token yet). */
export function serverUrl(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  const stored = readCredentials(credentialsPath(env));
  return normalizeUrl(options.url ?? env.AIRLOCK_URL ?? stored?.url ?? DEFAULT_URL);
}

export function createContext(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Context {
  const out = new Output({ json: options.json === true });
  const given = options.token ?? (env.AIRLOCK_TOKEN === '' ? undefined : env.AIRLOCK_TOKEN);
  const explicitUrl = options.url ?? env.AIRLOCK_URL;
  // With both a token and a URL given, the stored login is not needed (nor read).
  const stored =
    given !== undefined && explicitUrl !== undefined ? null : readCredentials(credentialsPath(env));
  const url = normalizeUrl(explicitUrl ?? stored?.url ?? DEFAULT_URL);
  // A stored token goes only to the server it was issued by.
  const fromStore = given === undefined && stored !== null && stored.url === url ? stored : null;
  const token = given ?? fromStore?.token;
  if (token === undefined)
    throw new CliError(
      stored !== null && stored.url !== url
        ? `Not logged in to ${url} (the stored login is for ${stored.url}); run \`airlock login --url ${url}\`.`
        : 'Not logged in; run `airlock login`, or set AIRLOCK_TOKEN.',
    );
  const api = new ApiClient({ url, token, userAgent: USER_AGENT });
  let org: Promise<string> | undefined;
  return {
    out,
    api,
    orgId: () => {
      org ??=
        fromStore !== null
          ? Promise.resolve(fromStore.orgId)
          : api.request('GET', '/me', Me).then((me) => {
              if (me.tokenOrgId === null) throw new CliError('This token is not an org API token.');
              return me.tokenOrgId;
            });
      return org;
    },
  };
}
