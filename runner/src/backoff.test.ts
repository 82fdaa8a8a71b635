import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap, with full jitter below the bound', () => {
    const policy = { baseMs: 500, maxMs: 30_000 };
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, 0.999_999, policy))).toEqual([
      499, 999, 1999, 3999, 29_999,
    ]);
    expect(backoffDelay(4, 0.5, policy)).toBe(4000);
  });

  it('never retries sooner than half the base delay, whatever the dice say', () => {
    expect(backoffDelay(0, 0)).toBe(250);
    expect(backoffDelay(20, 0)).toBe(250);
  });
});
