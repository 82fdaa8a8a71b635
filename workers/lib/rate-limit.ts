import { Ratelimit } from '@upstash/ratelimit';
import type { RequestScope } from './context.ts';
import { ProblemError } from './problem.ts';

// Sliding-window rate limits in Redis (Upstash's ratelimit over our REST
// client): login codes per email and per IP, code checks, session starts.
// Over the limit → 429 problem+json with Retry-After.

export interface Limit {
  /** Names the counter, e.g. `otp-send-email`. */
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

export async function enforceRateLimit(
  scope: RequestScope,
  limit: Limit,
  identifier: string,
  what: string,
): Promise<void> {
  const kv = scope.kv();
  const limiter = new Ratelimit({
    redis: kv.redis,
    limiter: Ratelimit.slidingWindow(limit.limit, `${limit.windowSeconds} s`),
    prefix: kv.key('rl', limit.name),
    ephemeralCache: false,
    analytics: false,
  });
  const result = await limiter.limit(identifier);
  if (!result.success) {
    const retryAfter = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
    throw new ProblemError('rate_limited', `Too many ${what}; try again in ${retryAfter} s.`, {
      headers: { 'retry-after': String(retryAfter) },
      extensions: { retryAfterSeconds: retryAfter },
    });
  }
}

/** The caller's address as Cloudflare reports it (tests and local dev: a fixed placeholder). */
export function clientIp(headers: Headers): string {
  return headers.get('cf-connecting-ip') ?? headers.get('x-real-ip') ?? 'unknown';
}
