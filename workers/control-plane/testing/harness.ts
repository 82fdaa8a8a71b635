import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { type Config, configFromWorkerEnv } from '@airlock/config';
import { createApp } from '../../app.ts';
import { type DbHandle, openDb } from '../../lib/db.ts';

// Drives the real Worker app in workerd against the real Postgres, Redis and
// mail sink, with an injected clock, and records every response body and log
// line so a test file can assert that no seeded secret ever left the server.

export const PUBLIC_ORIGIN = new URL(configFromWorkerEnv(env).services.public_url).origin;

export interface Call {
  readonly body?: unknown;
  /** Login-session cookie value. */
  readonly cookie?: string;
  /** API token (Bearer). */
  readonly token?: string;
  /** Origin header; defaults to the dashboard origin for cookie calls. */
  readonly origin?: string | null;
  readonly headers?: Record<string, string>;
  /** Raw body text (bypasses JSON encoding). */
  readonly raw?: string;
}

export interface Reply<T = unknown> {
  /** Position of this reply's body among the recorded ones. */
  readonly record: number;
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: T;
}

export class Harness {
  /** Milliseconds since the epoch, as the app sees it. */
  now = Date.now();
  readonly bodies: string[] = [];
  readonly logs: string[] = [];
  readonly secrets = new Set<string>();
  /** Replies that disclose a secret by design (the one response that shows a new token). */
  readonly #disclosures = new Set<number>();
  readonly env: typeof env;
  readonly config: Config;
  readonly #app = createApp({ clock: () => this.now, logSink: (line) => this.logs.push(line) });

  /** `vars` override AIRLOCK_* settings for this harness only. */
  constructor(vars: Readonly<Record<`AIRLOCK_${string}`, string>> = {}) {
    this.env = { ...env, ...vars };
    this.config = configFromWorkerEnv(this.env);
  }
  readonly #dbs: DbHandle[] = [];

  advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  /** Remember a value that must never appear in a response body or log line. */
  secret<T extends string>(value: T): T {
    this.secrets.add(value);
    return value;
  }

  db(): DbHandle['db'] {
    const handle = openDb(this.config);
    this.#dbs.push(handle);
    return handle.db;
  }

  async call<T = unknown>(method: string, path: string, call: Call = {}): Promise<Reply<T>> {
    const headers = new Headers(call.headers);
    if (call.body !== undefined || call.raw !== undefined)
      headers.set('content-type', headers.get('content-type') ?? 'application/json');
    if (call.cookie !== undefined)
      headers.set('cookie', `${this.config.auth.session.cookie_name}=${call.cookie}`);
    if (call.token !== undefined) headers.set('authorization', `Bearer ${call.token}`);
    const origin =
      call.origin === undefined ? (call.cookie !== undefined ? PUBLIC_ORIGIN : null) : call.origin;
    if (origin !== null) headers.set('origin', origin);
    const request = new Request(`${PUBLIC_ORIGIN}/api${path}`, {
      method,
      headers,
      ...(call.raw !== undefined
        ? { body: call.raw }
        : call.body !== undefined
          ? { body: JSON.stringify(call.body) }
          : {}),
    });
    const ctx = createExecutionContext();
    const response = await this.#app.fetch(request, this.env, ctx);
    const text = await response.text();
    await waitOnExecutionContext(ctx);
    const record = this.bodies.length;
    this.bodies.push(`${text}\n${JSON.stringify([...response.headers])}`);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { record, status: response.status, headers: response.headers, text, json: json as T };
  }

  /**
   * A request outside /api (e.g. POST /hooks/{id}), recorded like the others. `answeredMs` is
   * the time until the caller had the whole answer, before the work it left behind (waitUntil).
   */
  async raw(request: Request): Promise<Reply & { readonly answeredMs: number }> {
    const ctx = createExecutionContext();
    const started = performance.now();
    const response = await this.#app.fetch(request, this.env, ctx);
    const text = await response.text();
    const answeredMs = performance.now() - started;
    await waitOnExecutionContext(ctx);
    const record = this.bodies.length;
    this.bodies.push(`${text}\n${JSON.stringify([...response.headers])}`);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { record, status: response.status, headers: response.headers, text, json, answeredMs };
  }

  /** This reply shows a new secret once, by design; the leak scan skips it. Returns the reply. */
  disclosure<T>(reply: Reply<T>): Reply<T> {
    this.#disclosures.add(reply.record);
    return reply;
  }

  /** Every recorded body or log line that contains a registered secret (should be none). */
  leaks(): string[] {
    const found: string[] = [];
    const bodies = this.bodies.filter((_, i) => !this.#disclosures.has(i));
    for (const line of [...bodies, ...this.logs])
      for (const secret of this.secrets)
        if (line.includes(secret)) found.push(`${secret.slice(0, 6)}… in ${line.slice(0, 200)}`);
    return found;
  }

  async close(): Promise<void> {
    for (const handle of this.#dbs.splice(0)) await handle.end();
  }
}

/** The mail sink's base URL (the Worker posts to `<mailUrl>/emails`). */
export function mailUrl(): string {
  const endpoint = configFromWorkerEnv(env).mail.http_endpoint ?? '';
  return endpoint.replace(/\/emails$/, '');
}

interface SunkMail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** The latest login code mailed to `email`, read from the mail sink. */
export async function latestCode(email: string): Promise<string> {
  const response = await fetch(`${mailUrl()}/messages`);
  const messages = (await response.json()) as SunkMail[];
  const mine = messages.filter((m) => m.to.includes(email) && m.subject.includes('login code'));
  const match = /login code is (\d+)/.exec(mine.at(-1)?.text ?? '');
  if (match?.[1] === undefined) throw new Error(`no login code mailed to ${email}`);
  return match[1];
}

/** Fresh lowercase address unique to this run. */
export function freshEmail(tag: string): string {
  return `${tag}-${crypto.randomUUID().slice(0, 12)}@example.test`;
}

/** Log in through the real OTP flow; returns the cookie value. */
export async function login(
  h: Harness,
  email: string,
  ip = `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
): Promise<string> {
  const headers = { 'cf-connecting-ip': ip };
  const requested = await h.call('POST', '/auth/otp/request', { body: { email }, headers });
  if (requested.status !== 202) throw new Error(`otp request: ${requested.status} ${requested.text}`);
  const code = await latestCode(email);
  const verified = h.disclosure(await h.call('POST', '/auth/otp/verify', { body: { email, code }, headers }));
  if (verified.status !== 200) throw new Error(`otp verify: ${verified.status} ${verified.text}`);
  const cookie = new RegExp(`${h.config.auth.session.cookie_name}=([^;]+)`).exec(
    verified.headers.get('set-cookie') ?? '',
  )?.[1];
  if (cookie === undefined) throw new Error('no session cookie set');
  return h.secret(cookie);
}
