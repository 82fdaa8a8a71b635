import { env } from 'cloudflare:workers';
import { configFromWorkerEnv } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import { describe, expect, it } from 'vitest';
import { openKv } from './kv.ts';

// @upstash/redis exactly as production uses it, against a real Redis behind
// the local server that speaks Upstash's REST protocol.

describe('Redis through the Upstash REST protocol', () => {
  const kv = openKv(configFromWorkerEnv(env));
  const key = (name: string) => kv.key('test', newId('request'), name);

  it('round-trips strings, including non-ASCII and values that look like status replies', async () => {
    const k = key('s');
    expect(await kv.redis.set(k, 'héllo ✓ wörld', { ex: 60 })).toBe('OK');
    expect(await kv.redis.get(k)).toBe('héllo ✓ wörld');
    await kv.redis.set(k, 'OK');
    expect(await kv.redis.get(k)).toBe('OK');
    expect(await kv.redis.get(key('missing'))).toBeNull();
  });

  it('counts, expires and reads TTLs', async () => {
    const k = key('n');
    expect(await kv.redis.incr(k)).toBe(1);
    expect(await kv.redis.incrby(k, 41)).toBe(42);
    expect(await kv.redis.expire(k, 30)).toBe(1);
    const ttl = await kv.redis.ttl(k);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('reads hashes and sorted sets as Upstash returns them', async () => {
    const h = key('h');
    await kv.redis.hset(h, { a: '1', b: 'two' });
    // Without automatic deserialization the client returns Upstash's flat field/value list.
    expect(await kv.redis.hgetall(h)).toEqual(['a', '1', 'b', 'two']);
    const z = key('z');
    await kv.redis.zadd(z, { score: 2, member: 'b' }, { score: 1, member: 'a' });
    expect(await kv.redis.zrange(z, 0, -1)).toEqual(['a', 'b']);
  });

  it('runs a pipeline, keeping a failing command from failing the others', async () => {
    const k = key('p');
    const results = await kv.redis
      .pipeline()
      .set(k, 'v')
      .get(k)
      .incr(k) // not an integer: this one errors
      .exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: 'OK', error: undefined });
    expect(results[1]).toEqual({ result: 'v', error: undefined });
    expect(results[2]?.error).toMatch(/not an integer/);
  });

  it('runs a transaction atomically', async () => {
    const k = key('m');
    const results = await kv.redis.multi().set(k, '1').incr(k).get(k).exec();
    expect(results).toEqual(['OK', 2, '2']);
  });

  it('reports a Redis error as an error', async () => {
    const k = key('e');
    await kv.redis.set(k, 'text');
    await expect(kv.redis.lpush(k, 'x')).rejects.toThrow(/WRONGTYPE/);
  });
});
