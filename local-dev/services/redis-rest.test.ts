import { describe, expect, it } from 'vitest';
import { withRedisRest } from './redis-rest-world.ts';

// The HTTP surface of the Upstash REST server: who may call it, which methods,
// and the read-your-writes token every response carries.

describe('Upstash REST server', () => {
  it('refuses a request without the bearer token, and takes the token as _token too', async () => {
    await withRedisRest(async ({ url, token, post }) => {
      const wrong = await post('/', ['PING'], { authorization: 'Bearer wrong' });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: 'Unauthorized' });
      expect((await fetch(`${url}/ping`)).status).toBe(401);
      const query = await fetch(`${url}/ping?_token=${encodeURIComponent(token)}`);
      expect(await query.json()).toEqual({ result: 'PONG' });
    });
  });

  it('answers 405 to a method Upstash does not allow', async () => {
    await withRedisRest(async ({ url, token }) => {
      const response = await fetch(`${url}/ping`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(405);
      expect(await response.json()).toEqual({ error: expect.stringMatching(/^ERR /) });
    });
  });

  it('hands out a new upstash-sync-token with every response, which @upstash/redis carries forward', async () => {
    await withRedisRest(async ({ client, post, key }) => {
      const redis = client();
      const k = key('ryw');
      expect(redis.readYourWritesSyncToken).toBe('');
      await redis.set(k, 'v');
      const afterWrite = redis.readYourWritesSyncToken;
      expect(afterWrite).toMatch(/\S/);
      expect(await redis.get(k)).toBe('v');
      const afterRead = redis.readYourWritesSyncToken;
      expect(afterRead).toMatch(/\S/);
      expect(afterRead).not.toBe(afterWrite);
      await redis.multi().incr(key('n')).exec();
      expect(redis.readYourWritesSyncToken).not.toBe(afterRead);

      // A token handed from one client to another (as Upstash documents) is accepted.
      const reader = client();
      reader.readYourWritesSyncToken = redis.readYourWritesSyncToken;
      expect(await reader.get(k)).toBe('v');

      // Opting out sends no token and keeps none.
      const optedOut = client({ readYourWrites: false });
      await optedOut.set(k, 'w');
      expect(optedOut.readYourWritesSyncToken).toBe('');

      for (const [path, body] of [
        ['/', ['GET', k]],
        ['/', ['NOSUCHCOMMAND']],
        ['/pipeline', [['GET', k]]],
        ['/multi-exec', [['GET', k]]],
      ] as const) {
        const response = await post(path, body);
        expect({ path, token: response.headers.get('upstash-sync-token') }).toEqual({
          path,
          token: expect.stringMatching(/\S/),
        });
      }
    });
  });
});
