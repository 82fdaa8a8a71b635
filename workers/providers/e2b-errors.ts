import {
  AuthenticationError,
  NotFoundError,
  RateLimitError,
  SandboxError,
  ServiceBusyError,
  TimeoutError,
} from 'e2b';
import { ProviderError } from './types.ts';

// E2B's SDK errors as provider errors that name E2B, what was being done and
// E2B's own words, so a failed session or build says why (the API down, a 5xx,
// a timeout, the account's quota). Messages come from E2B's responses; the SDK
// never puts the API key in them, and they are cut short.

const MAX = 300;

export function e2bError(doing: string, error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  const said = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, MAX);
  const status = error instanceof SandboxError ? error.statusCode : undefined;
  const code = status === undefined ? '' : ` (HTTP ${status})`;
  const message = `E2B: ${doing} failed${code}: ${said}`;
  if (error instanceof NotFoundError || status === 404)
    return new ProviderError('not_found', message, 'e2b_not_found');
  if (error instanceof AuthenticationError || status === 401 || status === 403)
    return new ProviderError('failed', `${message} (check the E2B API key)`, 'e2b_auth');
  if (error instanceof RateLimitError || status === 429)
    return new ProviderError(
      'failed',
      `${message} (the E2B account's rate or concurrency limit)`,
      'e2b_quota',
    );
  if (error instanceof TimeoutError) return new ProviderError('timeout', message, 'e2b_timeout');
  if (error instanceof ServiceBusyError || (status !== undefined && status >= 500))
    return new ProviderError('failed', message, 'e2b_unavailable');
  // fetch failures (E2B unreachable), aborted requests, and anything else.
  if (error instanceof Error && /abort|timed? ?out/i.test(`${error.name} ${error.message}`))
    return new ProviderError('timeout', message, 'e2b_timeout');
  return new ProviderError('failed', message, 'e2b');
}
