import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ProblemError } from '../lib/problem.ts';
import type { ApiEnv } from './env.ts';

// The checks every route that reads a JSON body gets (app.ts adds them from
// the route registry; route.ts documents the statuses they answer, ADR 0180).
// Routes without a body never read one, so a body sent to them fails nothing.

export const limitBody: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const max = c.get('scope').config().limits.max_request_body_bytes;
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw new ProblemError('payload_too_large', `The request body is larger than ${max} bytes.`, {
        extensions: { maxBytes: max },
      });
    },
  })(c, next);
};

/**
 * A route whose body is required refuses a request without one. (The OpenAPI
 * validator would otherwise validate `{}` in its place, so a PATCH whose
 * fields are all optional accepted an empty request.)
 */
export const requireBody: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.req.header('content-type') === undefined && !(await hasBody(c.req.raw)))
    throw new ProblemError('validation_failed', 'A JSON request body is required.', {
      extensions: { errors: [{ path: '', message: 'A JSON request body is required.', code: 'required' }] },
    });
  await next();
};

/** Whether the request carries at least one byte of body (reads one chunk of a clone). */
async function hasBody(request: Request): Promise<boolean> {
  const reader = request.clone().body?.getReader();
  if (reader === undefined) return false;
  try {
    for (let chunks = 0; chunks < 64; chunks++) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
    return true;
  } finally {
    reader.cancel().catch(() => {});
  }
}

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/** Where in a parsed body a string (value or key) carries U+0000, if anywhere. */
function nulAt(value: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  for (let seen = 0; stack.length > 0 && seen < 100_000; seen++) {
    const next = stack.pop();
    if (next === undefined) break;
    if (typeof next.value === 'string') {
      if (next.value.includes('\u0000')) return next.path;
    } else if (typeof next.value === 'object' && next.value !== null) {
      for (const [key, child] of Object.entries(next.value)) {
        const path = next.path === '' ? key : `${next.path}.${key}`;
        if (key.includes('\u0000')) return path;
        stack.push({ value: child, path });
      }
    }
  }
  return undefined;
}

/**
 * Postgres text and jsonb cannot hold U+0000, so a body string carrying one is
 * refused as a validation failure (422) rather than failing in the database.
 * Malformed JSON is left to the validator, which answers 400.
 */
export const refuseNul: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const essence = (c.req.header('content-type') ?? '').split(';')[0]?.trim() ?? '';
  if (JSON_MEDIA.test(essence)) {
    let parsed: unknown;
    try {
      parsed = await c.req.json();
    } catch {
      await next();
      return;
    }
    const path = nulAt(parsed);
    if (path !== undefined) {
      const message = 'must not contain U+0000';
      throw new ProblemError('validation_failed', path === '' ? message : `${path}: ${message}`, {
        extensions: { errors: [{ path, message, code: 'invalid_string' }] },
      });
    }
  }
  await next();
};
