import type { Config } from '@airlock/config';
import { Redis } from '@upstash/redis/cloudflare';

// Upstash Redis over REST: rate limits, OTP attempt counters, webhook
// idempotency, caches. Every key goes through `key()` so deployments sharing
// one database stay apart.

export interface Kv {
  readonly redis: Redis;
  key(...parts: readonly string[]): string;
}

export function openKv(config: Config): Kv {
  const redis = new Redis({
    url: config.kv.rest_url,
    token: config.kv.rest_token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 2, backoff: (n) => 50 * 2 ** n },
  });
  const prefix = config.kv.key_prefix;
  return { redis, key: (...parts) => [prefix, ...parts].join(':') };
}
