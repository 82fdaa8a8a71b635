import type { Config } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import { signStandard } from '../ingress/verify.ts';
import type { ApiResult } from './provider-api.ts';

// A generic webhook's (or a schedule's) result, POSTed to the trigger's
// callback URL and signed with the trigger's secret the Standard Webhooks way,
// so the receiver checks it with the same library it signs with. The URL is
// an org admin's choice, so it is held to what a public endpoint looks like in
// production (https, a DNS name that is not local): the Worker is not a proxy
// into anyone's private network. Redirects are not followed.

const TIMEOUT_MS = 10_000;

/** Why a callback URL may not be used, or null. Local and development deployments allow http and loopback (stand-ins). */
export function callbackUrlProblem(raw: string, env: Config['env']): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (url.username !== '' || url.password !== '') return 'credentials in the URL are not allowed';
  // Loopback stand-ins in local and development deployments; production only to public https names.
  if (env !== 'production')
    return url.protocol === 'https:' || url.protocol === 'http:' ? null : 'http(s) only';
  if (url.protocol !== 'https:') return 'https only';
  const host = url.hostname.toLowerCase();
  if (/^[\d.]+$/.test(host) || host.startsWith('[')) return 'an IP address is not allowed; use a DNS name';
  if (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host.endsWith('.internal') ||
    !host.includes('.')
  )
    return 'a local host name is not allowed';
  return null;
}

export async function postCallback(
  url: string,
  secret: string,
  body: Record<string, unknown>,
  at: Date,
): Promise<ApiResult> {
  const started = Date.now();
  const target = new URL(url);
  const text = JSON.stringify(body);
  const id = newId('delivery', at.getTime()).replace(/^dlv_/, 'msg_');
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'airlock-triggers',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signStandard(secret, id, at, text),
      },
      body: text,
    });
  } catch {
    return {
      ok: false,
      status: null,
      detail: `could not reach ${target.host}`,
      url: target,
      durationMs: Date.now() - started,
    };
  }
  await response.body?.cancel();
  const durationMs = Date.now() - started;
  return response.status >= 200 && response.status < 300
    ? { ok: true, status: response.status, json: null, url: target, durationMs }
    : {
        ok: false,
        status: response.status,
        detail: `${target.host} answered HTTP ${response.status}`,
        url: target,
        durationMs,
      };
}
