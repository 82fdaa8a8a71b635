import { describe, expect, it } from 'vitest';
import { within, withRedisRest } from './redis-rest-world.ts';

// Every REST request stands alone, as on Upstash: nothing one request sends can
// change the connection the next one runs on. What only makes sense on a
// connection of one's own is refused, at once, and everything else still runs.

const REFUSED = /ERR .* is not available over REST/;

type Command = [string, ...string[]];

describe('Upstash REST: commands it refuses and runs differently', () => {
  it('refuses SUBSCRIBE and PSUBSCRIBE as commands, and every client keeps working', async () => {
    await withRedisRest(async ({ client, key }) => {
      const redis = client();
      for (const command of [
        ['SUBSCRIBE', key('ch')],
        ['PSUBSCRIBE', `${key('ch')}*`],
        ['UNSUBSCRIBE'],
        ['MONITOR'],
      ] as Command[]) {
        await expect(within(5000, command[0], redis.exec(command))).rejects.toThrow(REFUSED);
      }
      const other = client();
      const k = key('after');
      expect(await within(5000, 'SET after SUBSCRIBE', other.set(k, 'still here'))).toBe('OK');
      expect(await within(5000, 'GET after SUBSCRIBE', other.get(k))).toBe('still here');
    });
  });

  it('refuses SELECT and the other connection commands, so no request moves the next to another database', async () => {
    await withRedisRest(async ({ client, key, direct }) => {
      const redis = client();
      for (const command of [
        ['SELECT', '1'],
        ['SELECT', '0'],
        ['CLIENT', 'SETNAME', 'x'],
        ['HELLO', '3'],
        ['RESET'],
      ] as Command[]) {
        await expect(redis.exec(command)).rejects.toThrow(REFUSED);
      }
      const k = key('db');
      await redis.set(k, 'in db 0');
      expect(await (await direct()).get(k)).toBe('in db 0');
      expect(await redis.exec(['PING'])).toBe('PONG');
      expect(await redis.exec(['ECHO', 'hi'])).toBe('hi');
    });
  });

  it('refuses MULTI, EXEC, WATCH and DISCARD as commands, so a later SET runs at once', async () => {
    await withRedisRest(async ({ client, key, direct }) => {
      const redis = client();
      const k = key('watched');
      for (const command of [['MULTI'], ['WATCH', k], ['UNWATCH'], ['DISCARD'], ['EXEC']] as Command[]) {
        await expect(redis.exec(command)).rejects.toThrow(REFUSED);
      }
      expect(await redis.set(k, 'now')).toBe('OK');
      expect(await (await direct()).get(k)).toBe('now');
    });
  });

  it('refuses blocking commands at once instead of holding a connection', async () => {
    await withRedisRest(async ({ client, key }) => {
      const redis = client();
      const list = key('list');
      for (const command of [
        ['BLPOP', list, '0'],
        ['BRPOP', list, '0'],
        ['BRPOPLPUSH', list, key('to'), '0'],
        ['BLMOVE', list, key('to'), 'LEFT', 'RIGHT', '0'],
        ['BLMPOP', '0', '1', list, 'LEFT'],
        ['BZPOPMIN', key('z'), '0'],
        ['BZMPOP', '0', '1', key('z'), 'MIN'],
        ['XREAD', 'BLOCK', '0', 'STREAMS', key('s'), '$'],
        ['XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', key('s'), '>'],
        ['WAIT', '1', '0'],
      ] as Command[]) {
        await expect(within(5000, command[0], redis.exec(command))).rejects.toThrow(REFUSED);
      }
      // The non-blocking forms are ordinary commands.
      await redis.rpush(list, 'a');
      expect(await redis.exec(['LPOP', list])).toBe('a');
      expect(await redis.exec(['XREAD', 'COUNT', '1', 'STREAMS', key('s'), '0'])).toBeNull();
    });
  });

  it("accepts Upstash's allow-key-locking script flag, as @upstash/ratelimit sends it", async () => {
    await withRedisRest(async ({ post, key }) => {
      const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
      const k = key('flag');
      expect(await (await post('/', ['EVAL', script, '1', k])).json()).toEqual({ result: 1 });
      const other = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
      expect(await (await post('/', ['EVAL', other, '1', k])).json()).toEqual({ result: '1' });
    });
  });
});
