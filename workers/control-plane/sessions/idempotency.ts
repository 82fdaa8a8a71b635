import type { RequestScope } from '../../lib/context.ts';
import { ProblemError } from '../../lib/problem.ts';
import { validationProblem } from '../validation.ts';

// Idempotency-Key on POSTs that create: the first request with a key runs and
// its response is kept for a day; a retry with the same key and body gets the
// same response (Idempotent-Replayed: true); the same key with another body
// is refused with 422; a retry while the first is still running gets 409.
// Failed requests release their key so they can be retried.

const TTL_SECONDS = 24 * 3600;
const KEY = /^[\x21-\x7e]{1,255}$/;

type Stored =
  | { readonly state: 'pending'; readonly fingerprint: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly status: number; readonly body: unknown };

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface IdempotentRun {
  readonly status: number;
  readonly body: unknown;
  readonly replayed: boolean;
}

export async function withIdempotency(
  scope: RequestScope,
  input: { key: string | undefined; namespace: readonly string[]; request: unknown },
  run: () => Promise<{ status: number; body: unknown }>,
): Promise<IdempotentRun> {
  if (input.key === undefined) return { ...(await run()), replayed: false };
  if (!KEY.test(input.key))
    throw validationProblem([
      {
        path: 'header.idempotency-key',
        message: '1-255 visible ASCII characters',
        code: 'invalid_idempotency_key',
      },
    ]);
  const kv = scope.kv();
  const redisKey = kv.key('idem', ...input.namespace, await sha256(input.key));
  const fingerprint = await sha256(JSON.stringify(input.request));
  const claimed = await kv.redis.set(
    redisKey,
    JSON.stringify({ state: 'pending', fingerprint } satisfies Stored),
    {
      nx: true,
      ex: TTL_SECONDS,
    },
  );
  if (claimed !== 'OK') {
    const raw = await kv.redis.get<string>(redisKey);
    if (raw === null) throw new ProblemError('conflict', 'That Idempotency-Key was just released; retry.');
    const stored = JSON.parse(raw) as Stored;
    if (stored.fingerprint !== fingerprint)
      throw validationProblem([
        {
          path: 'header.idempotency-key',
          message: 'this key was used with a different request body; use a new key',
          code: 'idempotency_key_reused',
        },
      ]);
    if (stored.state === 'pending')
      throw new ProblemError('conflict', 'A request with this Idempotency-Key is still in progress.');
    return { status: stored.status, body: stored.body, replayed: true };
  }
  try {
    const result = await run();
    await kv.redis.set(redisKey, JSON.stringify({ state: 'done', fingerprint, ...result } satisfies Stored), {
      ex: TTL_SECONDS,
    });
    return { ...result, replayed: false };
  } catch (error) {
    await kv.redis.del(redisKey);
    throw error;
  }
}
