import { describe, expect, it } from 'vitest';
import { withRedisRest } from './redis-rest-world.ts';

// How commands and replies are written on the wire, as Upstash writes them:
// JSON arguments (strings, numbers, booleans), `{result}` / `{error}`,
// base64 strings on request, integers with every digit.

describe('Upstash REST wire format', () => {
  it('base64-encodes every string but OK when asked, and answers plain UTF-8 otherwise', async () => {
    await withRedisRest(async ({ post, key }) => {
      const b64 = { 'upstash-encoding': 'base64' };
      const k = key('enc');
      expect(await (await post('/', ['SET', k, 'wörld'], b64)).json()).toEqual({ result: 'OK' });
      expect(await (await post('/', ['GET', k], b64)).json()).toEqual({
        result: Buffer.from('wörld').toString('base64'),
      });
      expect(await (await post('/', ['PING'], b64)).json()).toEqual({
        result: Buffer.from('PONG').toString('base64'),
      });
      expect(await (await post('/', ['EXISTS', k], b64)).json()).toEqual({ result: 1 });
      expect(await (await post('/', ['GET', k])).json()).toEqual({ result: 'wörld' });
      expect(await (await post('/', ['MGET', k, key('none')], b64)).json()).toEqual({
        result: [Buffer.from('wörld').toString('base64'), null],
      });
    });
  });

  it('takes JSON booleans as arguments, so a pipeline holding one runs (as @upstash/redis sends them)', async () => {
    await withRedisRest(async ({ client, key, direct }) => {
      const redis = client();
      const flag = key('flag');
      const hash = key('hash');
      // @upstash/redis writes booleans into the command as JSON true/false.
      const results = await redis
        .pipeline()
        .set(flag, true)
        .hset(hash, { on: true, off: false })
        .get(flag)
        .hget(hash, 'off')
        .exec();
      expect(results).toEqual(['OK', 2, true, false]);
      expect(await (await direct()).get(flag)).toBe('true');
    });
  });

  it('writes integer replies above 2^53 with every digit, and reads number arguments the same way', async () => {
    await withRedisRest(async ({ client, post, key, direct }) => {
      const k = key('big');
      // A raw client sends the number as JSON; it must reach Redis digit for digit.
      const incr = await post('/', `["INCRBY","${k}",9007199254740993]`);
      expect(await incr.text()).toBe('{"result":9007199254740993}');
      expect(await (await direct()).get(k)).toBe('9007199254740993');
      await post('/', ['SET', k, '9223372036854775806']);
      expect(await (await post('/', ['INCR', k])).text()).toBe('{"result":9223372036854775807}');
      expect(await (await post('/pipeline', [['DECR', k]])).text()).toBe('[{"result":9223372036854775806}]');

      // @upstash/redis parses the reply with JSON.parse, as it does against Upstash: an integer
      // reply rounds to the nearest double, while the string value keeps every digit.
      const redis = client();
      expect(await redis.incr(k)).toBe(JSON.parse('9223372036854775807'));
      expect(await redis.get(k)).toBe('9223372036854775807');
      const small = key('small');
      await redis.set(small, '9007199254740993');
      expect(await redis.get(small)).toBe('9007199254740993');
    });
  });

  it('answers a failing command with 400 and the Redis error, a malformed body with 400', async () => {
    await withRedisRest(async ({ post, client, key }) => {
      const response = await post('/', ['NOSUCHCOMMAND']);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/unknown command/);
      for (const body of [
        '{"not":"an array"}',
        '[]',
        '["GET", null]',
        '["GET", {"a":1}]',
        '[["GET"]]',
        'nope',
      ]) {
        const malformed = await post('/', body);
        expect({ body, status: malformed.status }).toEqual({ body, status: 400 });
        expect(await malformed.json()).toEqual({ error: expect.stringMatching(/^ERR /) });
      }
      const k = key('wrongtype');
      const redis = client();
      await redis.set(k, 'text');
      await expect(redis.lpush(k, 'x')).rejects.toThrow(/WRONGTYPE/);
    });
  });

  it('runs pipelines in order with one result or error per command', async () => {
    await withRedisRest(async ({ post, key }) => {
      const k = key('p');
      const response = await post('/pipeline', [
        ['SET', k, 'x'],
        ['INCR', k],
        ['GET', k],
      ]);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual([
        { result: 'OK' },
        { error: expect.stringMatching(/not an integer/) },
        { result: 'x' },
      ]);
      for (const body of [[], [[]], ['GET', k], [['GET', k], 'x']]) {
        expect((await post('/pipeline', body)).status).toBe(400);
      }
    });
  });

  it('takes the path form: arguments in the path, the body as the last one, then query parameters', async () => {
    await withRedisRest(async ({ url, token, key, direct }) => {
      const auth = { authorization: `Bearer ${token}` };
      const k = key('path');
      const get = await fetch(`${url}/set/${encodeURIComponent(k)}/hello%20there`, { headers: auth });
      expect(await get.json()).toEqual({ result: 'OK' });
      expect(await (await direct()).get(k)).toBe('hello there');
      const value = '{"a":[1,2]}';
      const post = await fetch(`${url}/set/${encodeURIComponent(k)}?EX=100`, {
        method: 'POST',
        body: value,
        headers: auth,
      });
      expect(await post.json()).toEqual({ result: 'OK' });
      const redis = await direct();
      expect(await redis.get(k)).toBe(value);
      expect(await redis.ttl(k)).toBeGreaterThan(90);
      expect((await fetch(`${url}/get/%E0%A4%A`, { headers: auth })).status).toBe(400);
    });
  });
});
