import { randomUUID } from 'node:crypto';
import { Redis } from '@upstash/redis';
import { createClient } from 'redis';
import { inject } from 'vitest';
import { startRedisRest } from './redis-rest.ts';

// What the redis-rest suites share: one REST server per test over the suite's
// real Redis, `@upstash/redis` built as production builds it (auto-pipelining,
// base64 responses, read-your-writes all at their defaults), raw requests for
// wire details the client hides, and a direct Redis connection to check what
// really happened.

export interface RestWorld {
  readonly url: string;
  readonly token: string;
  /** A new @upstash/redis client: its own sync token, its own subscriptions. */
  client(options?: { readonly readYourWrites?: boolean }): Redis;
  /** A raw POST with the bearer token; `body` is sent as JSON unless it is a string. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** A key or channel name no other test uses. */
  key(name: string): string;
  /** A plain Redis connection (not through the REST server). */
  direct(): Promise<PlainRedis>;
}

const plainRedis = (url: string) => createClient({ url });
export type PlainRedis = ReturnType<typeof plainRedis>;

export async function withRedisRest(run: (world: RestWorld) => Promise<void>): Promise<void> {
  const redisUrl = inject('airlock').redisUrl;
  const server = await startRedisRest({ redisUrl, token: `test-token-${randomUUID()}` });
  const prefix = `rest-test:${randomUUID()}`;
  const directs: PlainRedis[] = [];
  const world: RestWorld = {
    url: server.url,
    token: server.token,
    client: (options = {}) =>
      new Redis({ url: server.url, token: server.token, enableTelemetry: false, retry: false, ...options }),
    post: (path, body, headers = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { authorization: `Bearer ${server.token}`, ...headers },
        signal: AbortSignal.timeout(10_000),
      }),
    key: (name) => `${prefix}:${name}`,
    direct: async () => {
      const client = plainRedis(redisUrl);
      client.on('error', () => {});
      directs.push(client);
      await client.connect();
      return client;
    },
  };
  try {
    await run(world);
  } finally {
    await server.close();
    for (const client of directs) client.destroy();
  }
}

/** Settles with the promise, or rejects after `ms` so a hung request fails the test instead of stalling it. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
