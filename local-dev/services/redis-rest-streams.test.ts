import type { Redis } from '@upstash/redis';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../wait.ts';
import { type PlainRedis, within, withRedisRest } from './redis-rest-world.ts';

// /subscribe and /psubscribe as Upstash serves them: a server-sent event
// stream per request, on a Redis connection of its own that ends with it.

type Subscriber = ReturnType<Redis['subscribe']>;

/** Resolves with the subscription count once the stream has confirmed it. */
function subscribed(subscriber: Subscriber, type: 'subscribe' | 'psubscribe'): Promise<number> {
  return within(5000, `${type} confirmation`, new Promise<number>((resolve) => subscriber.on(type, resolve)));
}

describe('Upstash REST: subscriptions as event streams', () => {
  it('delivers published messages to @upstash/redis subscribers while other requests carry on', async () => {
    await withRedisRest(async ({ client, key }) => {
      const redis = client();
      const channel = key('chat');
      const subscriber = redis.subscribe<unknown>(channel);
      const messages: unknown[] = [];
      subscriber.on(`message:${channel}`, ({ message }) => messages.push(message));
      const second = client().subscribe<unknown>(channel);
      try {
        // Each stream has a connection of its own, so each counts one subscription.
        expect(await subscribed(subscriber, 'subscribe')).toBe(1);
        expect(await subscribed(second, 'subscribe')).toBe(1);

        const other = client();
        const k = key('k');
        expect(await within(5000, 'SET while subscribed', other.set(k, 'v'))).toBe('OK');
        expect(await within(5000, 'GET while subscribed', other.get(k))).toBe('v');

        expect(await other.publish(channel, { hello: 'wörld', n: 1 })).toBe(2);
        expect(await other.publish(channel, 'plain, with commas')).toBe(2);
        await waitUntil('two messages', async () => messages.length >= 2, 5000, 20);
        expect(messages).toEqual([{ hello: 'wörld', n: 1 }, 'plain, with commas']);
      } finally {
        await subscriber.unsubscribe();
        await second.unsubscribe();
      }
    });
  });

  it('delivers pattern messages with the pattern and the channel they came on', async () => {
    await withRedisRest(async ({ client, key }) => {
      const redis = client();
      const pattern = `${key('room')}:*`;
      const subscriber = redis.psubscribe<unknown>(pattern);
      const received: unknown[] = [];
      subscriber.on('pmessage', (event) => received.push(event));
      try {
        expect(await subscribed(subscriber, 'psubscribe')).toBe(1);
        await redis.publish(`${key('room')}:1`, { text: 'hi' });
        await redis.publish(key('elsewhere'), { text: 'not for us' });
        // (@upstash/redis JSON-parses pattern messages without a fallback, so these are JSON.)
        await redis.publish(`${key('room')}:2`, ['bye']);
        await waitUntil('two pattern messages', async () => received.length >= 2, 5000, 20);
        expect(received).toEqual([
          { pattern, channel: `${key('room')}:1`, message: { text: 'hi' } },
          { pattern, channel: `${key('room')}:2`, message: ['bye'] },
        ]);
      } finally {
        await subscriber.unsubscribe();
      }
    });
  });

  it('streams several channels from one request, each confirmed with the running count', async () => {
    await withRedisRest(async ({ url, token, key }) => {
      const controller = new AbortController();
      const response = await fetch(`${url}/subscribe/${key('a')}/${key('b')}`, {
        method: 'POST',
        body: '[]',
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      try {
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
        expect(response.headers.get('upstash-sync-token')).toMatch(/\S/);
        const reader = response.body?.getReader();
        if (!reader) throw new Error('no body');
        let text = '';
        await waitUntil(
          'both confirmations',
          async () => {
            const { value } = await within(5000, 'stream chunk', reader.read());
            text += new TextDecoder().decode(value);
            return text.includes(`subscribe,${key('b')},2`);
          },
          5000,
          0,
        );
        expect(text).toBe(`data: subscribe,${key('a')},1\n\ndata: subscribe,${key('b')},2\n\n`);
      } finally {
        controller.abort();
      }
    });
  });

  it('closes the Redis subscription when the client goes away, and when the server closes', async () => {
    let channel = '';
    const subscribers = async (plain: PlainRedis) => Number((await plain.pubSubNumSub(channel))[channel]);
    await withRedisRest(async ({ client, key, direct }) => {
      channel = key('gone');
      const plain = await direct();
      const subscriber = client().subscribe(channel);
      await subscribed(subscriber, 'subscribe');
      expect(await subscribers(plain)).toBe(1);
      await subscriber.unsubscribe();
      await waitUntil('the subscription to end', async () => (await subscribers(plain)) === 0, 5000, 20);

      const lingering = client().subscribe(channel);
      await subscribed(lingering, 'subscribe');
      expect(await subscribers(plain)).toBe(1);
    });
    // The server closed with that stream still open: its subscription must end with it.
    await withRedisRest(async ({ direct }) => {
      const plain = await direct();
      await waitUntil(
        'the server to end the subscription',
        async () => (await subscribers(plain)) === 0,
        5000,
        20,
      );
    });
  });

  it('refuses a subscription without channels, or without the token', async () => {
    await withRedisRest(async ({ url, post }) => {
      expect((await post('/subscribe', '[]')).status).toBe(400);
      expect((await post('/psubscribe', '[]')).status).toBe(400);
      const anonymous = await fetch(`${url}/subscribe/x`, { method: 'POST', body: '[]' });
      expect(anonymous.status).toBe(401);
    });
  });
});
