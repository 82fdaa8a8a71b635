import { connections } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { githubApiBase } from '../../broker/github-app.ts';
import type { Database } from '../../lib/db.ts';
import type { Env } from '../../lib/env.ts';

// Calls the control plane makes to GitHub and Slack with an org connection:
// the credential comes from the broker (an installation token scoped to the
// one repository, a PAT, a bot token), lives only for the call, and never
// appears in a result, a log line or an error. Sandboxes never make these.

const TIMEOUT_MS = 10_000;

export interface ApiDeps {
  readonly env: Env;
  readonly db: Database;
}

export type ApiResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly json: unknown;
      readonly url: URL;
      readonly durationMs: number;
    }
  | {
      readonly ok: false;
      readonly status: number | null;
      readonly detail: string;
      readonly url: URL | null;
      readonly durationMs: number;
    };

async function connectionRow(db: Database, orgId: string, connectionId: string) {
  const [row] = await db
    .select({ integration: connections.integration, config: connections.config, status: connections.status })
    .from(connections)
    .where(and(eq(connections.id, connectionId), eq(connections.orgId, orgId)));
  return row;
}

async function send(url: URL, init: RequestInit, started: number): Promise<ApiResult> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      ok: false,
      status: null,
      detail: timedOut
        ? `${url.host} did not answer within ${TIMEOUT_MS / 1000} s`
        : `could not reach ${url.host}`,
      url,
      durationMs: Date.now() - started,
    };
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  const durationMs = Date.now() - started;
  if (response.status < 200 || response.status >= 300) {
    const message = (json as { message?: unknown } | null)?.message;
    return {
      ok: false,
      status: response.status,
      detail: `${url.host} answered HTTP ${response.status}${typeof message === 'string' ? `: ${message.slice(0, 200)}` : ''}`,
      url,
      durationMs,
    };
  }
  return { ok: true, status: response.status, json, url, durationMs };
}

const failed = (detail: string): ApiResult => ({ ok: false, status: null, detail, url: null, durationMs: 0 });

/** A GitHub REST call for `repository` through a GitHub App or PAT connection. */
export async function githubApi(
  deps: ApiDeps,
  orgId: string,
  connectionId: string,
  repository: string,
  call: { method: 'GET' | 'POST'; path: string; query?: Record<string, string>; body?: unknown },
): Promise<ApiResult> {
  const started = Date.now();
  const row = await connectionRow(deps.db, orgId, connectionId);
  if (row === undefined) return failed(`connection ${connectionId} does not exist in this org`);
  if (row.integration !== 'github_app' && row.integration !== 'github_pat')
    return failed(`connection ${connectionId} is not a GitHub connection`);
  const credential = await deps.env.BROKER.resolve(
    row.integration === 'github_app'
      ? { orgId, connectionId, source: 'github_app', repositories: [repository] }
      : { orgId, connectionId, source: 'secret', field: 'token' },
  );
  if (!credential.ok) return failed(`${credential.code}: ${credential.message}`);
  const baseUrl = typeof row.config.base_url === 'string' ? row.config.base_url : undefined;
  const url = new URL(`${githubApiBase(baseUrl)}${call.path}`);
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
  return send(
    url,
    {
      method: call.method,
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'airlock-triggers',
        authorization: `Bearer ${credential.value}`,
        ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    },
    started,
  );
}

/**
 * A Slack Web API method through a Slack connection (form-encoded, as every method accepts).
 * Slack answers 200 with `ok: false` for refusals: that is a failure here.
 */
export async function slackApi(
  deps: ApiDeps,
  orgId: string,
  connectionId: string,
  method: string,
  params: Record<string, string>,
): Promise<ApiResult> {
  const started = Date.now();
  const row = await connectionRow(deps.db, orgId, connectionId);
  if (row === undefined) return failed(`connection ${connectionId} does not exist in this org`);
  if (row.integration !== 'slack') return failed(`connection ${connectionId} is not a Slack connection`);
  const credential = await deps.env.BROKER.resolve({
    orgId,
    connectionId,
    source: 'secret',
    field: 'bot_token',
  });
  if (!credential.ok) return failed(`${credential.code}: ${credential.message}`);
  const base =
    typeof row.config.base_url === 'string' ? row.config.base_url.replace(/\/+$/, '') : 'https://slack.com';
  const url = new URL(`${base}/api/${method}`);
  const result = await send(
    url,
    {
      method: 'POST',
      headers: {
        authorization: `Bearer ${credential.value}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(params).toString(),
    },
    started,
  );
  if (!result.ok) return result;
  const body = result.json as { ok?: unknown; error?: unknown } | null;
  if (body?.ok !== true)
    return {
      ok: false,
      status: result.status,
      detail: `Slack ${method} said ok: false (${typeof body?.error === 'string' ? body.error.slice(0, 80) : 'no reason'})`,
      url,
      durationMs: result.durationMs,
    };
  return result;
}
