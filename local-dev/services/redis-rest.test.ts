import { Redis } from '@upstash/redis';
import { describe, expect, inject, it } from 'vitest';
import { startRedisRest } from './redis-rest.ts';

// The wire details of Upstash's REST protocol, checked with raw requests
// (the Worker-side test drives the same server through @upstash/redis).

async function withServer(run: (url: string, token: string) => Promise<void>): Promise<void> {
  const server = await startRedisRest({ redisUrl: inject('airlock').redisUrl, token: 'test-token-123' });
  try {
    await run(server.url, server.token);
  } finally {
    await server.close();
  }
}

const post = (url: string, body: unknown, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers });

describe('Redis REST server', () => {
  it('refuses a request without the bearer token', async () => {
    await withServer(async (url) => {
      const response = await post(url, ['PING'], { authorization: 'Bearer wrong' });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'Unauthorized' });
    });
  });

  it('base64-encodes every string but the OK status when asked', async () => {
    await withServer(async (url, token) => {
      const h = { authorization: `Bearer ${token}`, 'upstash-encoding': 'base64' };
      expect(await (await post(url, ['SET', 'rest:k', 'wörld'], h)).json()).toEqual({ result: 'OK' });
      expect(await (await post(url, ['GET', 'rest:k'], h)).json()).toEqual({
        result: Buffer.from('wörld').toString('base64'),
      });
      expect(await (await post(url, ['PING'], h)).json()).toEqual({
        result: Buffer.from('PONG').toString('base64'),
      });
      expect(await (await post(url, ['EXISTS', 'rest:k'], h)).json()).toEqual({ result: 1 });
      const plain = { authorization: `Bearer ${token}` };
      expect(await (await post(url, ['GET', 'rest:k'], plain)).json()).toEqual({ result: 'wörld' });
    });
  });

  it('answers a bad command with 400 and the Redis error', async () => {
    await withServer(async (url, token) => {
      const response = await post(url, ['NOSUCHCOMMAND'], { authorization: `Bearer ${token}` });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/unknown command/);
      const malformed = await fetch(url, {
        method: 'POST',
        body: '{"not":"an array"}',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(malformed.status).toBe(400);
    });
  });

  it('runs pipelines with per-command errors and the path form', async () => {
    await withServer(async (url, token) => {
      const h = { authorization: `Bearer ${token}` };
      const results = await (
        await post(
          `${url}/pipeline`,
          [
            ['SET', 'rest:p', 'x'],
            ['INCR', 'rest:p'],
            ['GET', 'rest:p'],
          ],
          h,
        )
      ).json();
      expect(results).toEqual([
        { result: 'OK' },
        { error: expect.stringMatching(/not an integer/) },
        { result: 'x' },
      ]);
      const pathForm = await fetch(`${url}/set/rest:path/hello%20there`, { headers: h });
      expect(await pathForm.json()).toEqual({ result: 'OK' });
      expect(await (await post(url, ['GET', 'rest:path'], h)).json()).toEqual({ result: 'hello there' });
    });
  });

  it('serves @upstash/redis in Node too', async () => {
    await withServer(async (url, token) => {
      const redis = new Redis({ url, token, enableTelemetry: false });
      await redis.set('rest:json', { a: 1 });
      expect(await redis.get('rest:json')).toEqual({ a: 1 });
      expect(await redis.multi().incr('rest:ctr').incr('rest:ctr').exec()).toHaveLength(2);
    });
  });

  it("accepts Upstash's allow-key-locking script flag, as @upstash/ratelimit sends it", async () => {
    await withServer(async (url, token) => {
      const h = { authorization: `Bearer ${token}` };
      const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
      const key = `rest:flag:${Date.now()}`;
      expect(await (await post(url, ['EVAL', script, '1', key], h)).json()).toEqual({ result: 1 });
      const other = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
      expect(await (await post(url, ['EVAL', other, '1', key], h)).json()).toEqual({ result: '1' });
    });
  });
});
