import { type FieldError, Problem } from '@airlock/schema/api';
import type { z } from 'zod';

// The one way the dashboard talks to the control plane: same-origin fetch with
// the session cookie, JSON in, JSON out, every response checked against its
// schema from @airlock/schema/api, every error turned into an ApiError that
// carries the problem+json `detail` (and per-field `errors` on 422).

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fieldErrors: readonly FieldError[];
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail ?? fallback);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code ?? 'unknown';
    this.problem = problem;
    const errors = problem?.errors;
    this.fieldErrors = Array.isArray(errors) ? (errors as FieldError[]) : [];
  }

  /** A problem extension such as `reason` on a 409. */
  extension(name: string): unknown {
    return this.problem?.[name];
  }
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

function withQuery(path: string, query: RequestOptions['query']): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export async function request<S extends z.ZodType>(
  method: string,
  path: string,
  schema: S,
  options: RequestOptions = {},
): Promise<z.infer<S>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`/api${withQuery(path, options.query)}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, null, 'The control plane cannot be reached; check your connection and try again.');
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
      `The request failed (HTTP ${response.status}).`,
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ApiError(
      response.status,
      null,
      `The control plane answered ${method} ${path} with an unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'}).`,
    );
  return parsed.data;
}

/** The message to show for any error a query or mutation can raise. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/** The API's message for one field of a 422 (`name`, `config.cron`), if it named that field. */
export function fieldError(error: unknown, path: string): string | undefined {
  return error instanceof ApiError ? error.fieldErrors.find((e) => e.path === path)?.message : undefined;
}
