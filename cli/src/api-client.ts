import { type FieldError, Problem } from '@airlock/schema/api';
import type { z } from 'zod';

// The CLI's one way to the control plane: JSON over fetch with the API token,
// every response checked against its schema from @airlock/schema/api, every
// failure an ApiError carrying the problem+json (rendered as one line).

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail ?? fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? (status === 0 ? 'unreachable' : 'unknown');
    this.problem = problem;
  }

  get fieldErrors(): readonly FieldError[] {
    const errors = this.problem?.errors;
    return Array.isArray(errors) ? (errors as FieldError[]) : [];
  }

  /** A problem extension such as RFC 8628's `error` or `interval`. */
  extension(name: string): unknown {
    return this.problem !== null && Object.hasOwn(this.problem, name) ? this.problem[name] : undefined;
  }
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface ApiClientOptions {
  /** The Worker's origin, e.g. http://127.0.0.1:8787. */
  readonly url: string;
  readonly token?: string | undefined;
  readonly userAgent: string;
}

export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #userAgent: string;

  constructor(options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#userAgent = options.userAgent;
  }

  /** Headers for anything else that talks to this server as this user (the terminal socket). */
  authHeaders(): Record<string, string> {
    return {
      'user-agent': this.#userAgent,
      ...(this.#token === undefined ? {} : { authorization: `Bearer ${this.#token}` }),
    };
  }

  async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: { body?: unknown; query?: Query; headers?: Record<string, string> } = {},
  ): Promise<z.infer<S>> {
    const target = new URL(`${this.url}/api${path}`);
    for (const [key, value] of Object.entries(options.query ?? {}))
      if (value !== undefined && value !== '') target.searchParams.set(key, String(value));
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.authHeaders(),
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new ApiError(0, null, `Cannot reach ${this.url}${cause}.`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const problem = Problem.safeParse(json);
      throw new ApiError(
        response.status,
        problem.success ? problem.data : null,
        `${method} ${target.pathname} failed with HTTP ${response.status}.`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first === undefined ? '' : ` (${first.path.join('.') || 'body'}: ${first.message})`;
      throw new ApiError(
        0,
        null,
        `The server's answer to ${method} ${target.pathname} does not match this CLI's API schema${where}; is the CLI up to date?`,
      );
    }
    return parsed.data;
  }
}
