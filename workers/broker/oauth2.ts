// OAuth2 refresh (RFC 6749 §6): `grant_type=refresh_token` at the provider's
// token endpoint, client authenticated with HTTP Basic (§2.3.1, which servers
// must support) unless the connection says `client_secret_post`.

export interface RefreshInput {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly scope?: string | undefined;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
}

export type RefreshResult =
  | {
      readonly ok: true;
      readonly accessToken: string;
      readonly expiresIn: number | null;
      readonly refreshToken: string | null;
    }
  | {
      readonly ok: false;
      readonly code: 'PROVIDER_REJECTED' | 'PROVIDER_UNREACHABLE';
      readonly error: string;
      readonly message: string;
    };

const formEncode = (value: string) => encodeURIComponent(value).replaceAll('%20', '+');

export async function refreshAccessToken(input: RefreshInput): Promise<RefreshResult> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: input.refreshToken });
  if (input.scope !== undefined) form.set('scope', input.scope);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (input.authMethod === 'client_secret_basic')
    headers.authorization = `Basic ${btoa(`${formEncode(input.clientId)}:${formEncode(input.clientSecret)}`)}`;
  else {
    form.set('client_id', input.clientId);
    form.set('client_secret', input.clientSecret);
  }
  let response: Response;
  try {
    response = await fetch(input.tokenUrl, { method: 'POST', headers, body: form.toString() });
  } catch (error) {
    return {
      ok: false,
      code: 'PROVIDER_UNREACHABLE',
      error: 'unreachable',
      message: String(error).slice(0, 200),
    };
  }
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (!response.ok || typeof body?.access_token !== 'string') {
    const error = typeof body?.error === 'string' ? body.error : `http_${response.status}`;
    const description =
      typeof body?.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : '';
    return {
      ok: false,
      code: 'PROVIDER_REJECTED',
      error,
      message: `the token endpoint refused the refresh (${error}${description})`,
    };
  }
  const expiresIn =
    typeof body.expires_in === 'number'
      ? body.expires_in
      : typeof body.expires_in === 'string'
        ? Number(body.expires_in)
        : null;
  return {
    ok: true,
    accessToken: body.access_token,
    expiresIn: expiresIn !== null && Number.isFinite(expiresIn) ? expiresIn : null,
    refreshToken:
      typeof body.refresh_token === 'string' && body.refresh_token !== '' ? body.refresh_token : null,
  };
}
