import type { CredentialResult } from '@airlock/schema/gateway';
import { SignJWT } from 'jose';
import { PemError, pkcs8FromPem } from './pem.ts';

// GitHub App installation tokens: an RS256 app JWT (iss = app id, iat 60 s in
// the past for clock drift, exp within GitHub's 10-minute limit) exchanged at
// POST {api}/app/installations/{id}/access_tokens for a token that lives an hour.

export interface GithubAppInput {
  readonly privateKeyPem: string;
  readonly appId: string;
  readonly installationId: string;
  /** API base: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  readonly apiBase: string;
  /** Repository names (`name` or `owner/name`) to scope the token to. */
  readonly repositories?: readonly string[] | undefined;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** The catalog's `base_url` is the service (github.com or a GHES host); the API lives beside it. */
export function githubApiBase(baseUrl: string | undefined): string {
  if (baseUrl === undefined || baseUrl === '' || /^https:\/\/github\.com\/?$/.test(baseUrl))
    return 'https://api.github.com';
  return `${baseUrl.replace(/\/+$/, '')}/api/v3`;
}

export async function appJwt(
  input: Pick<GithubAppInput, 'privateKeyPem' | 'appId' | 'now'>,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'pkcs8',
    pkcs8FromPem(input.privateKeyPem),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(input.appId)
    .setIssuedAt(input.now - 60)
    .setExpirationTime(input.now + 9 * 60)
    .sign(key);
}

export async function mintInstallationToken(input: GithubAppInput): Promise<CredentialResult> {
  let jwt: string;
  try {
    jwt = await appJwt(input);
  } catch (error) {
    const detail = error instanceof PemError ? error.message : 'the App private key could not be used';
    return { ok: false, code: 'CREDENTIAL_INVALID', message: detail };
  }
  const body: Record<string, unknown> = {};
  if (input.repositories !== undefined && input.repositories.length > 0)
    body.repositories = input.repositories.map((r) => r.split('/').pop() ?? r);
  let response: Response;
  try {
    response = await fetch(
      `${input.apiBase}/app/installations/${encodeURIComponent(input.installationId)}/access_tokens`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${jwt}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'airlock-broker',
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      },
    );
  } catch (error) {
    return {
      ok: false,
      code: 'PROVIDER_UNREACHABLE',
      message: `GitHub could not be reached: ${String(error).slice(0, 200)}`,
    };
  }
  const payload = (await response.json().catch(() => null)) as {
    token?: unknown;
    expires_at?: unknown;
    message?: unknown;
  } | null;
  if (
    response.status !== 201 ||
    typeof payload?.token !== 'string' ||
    typeof payload.expires_at !== 'string'
  ) {
    const message =
      typeof payload?.message === 'string' ? payload.message.slice(0, 200) : `HTTP ${response.status}`;
    return {
      ok: false,
      code: 'PROVIDER_REJECTED',
      message: `GitHub refused an installation token: ${message}`,
    };
  }
  const expiresAt = Date.parse(payload.expires_at);
  return {
    ok: true,
    value: payload.token,
    expiresAt: Number.isNaN(expiresAt) ? Date.now() + 50 * 60_000 : expiresAt,
  };
}
