import { describe, expect, it } from 'vitest';
import { within, withRedisRest } from './redis-rest-world.ts';

// Transactions as Upstash runs them: atomically, on a connection no other
// request can reach into, answering one result or error per command.

const REFUSED = /ERR .* is not available over REST/;

describe('Upstash REST: transactions', () => {
  it('commits a transaction with a failing command and answers 200 with one result or error per command', async () => {
    await withRedisRest(async ({ client, key, direct }) => {
      const redis = client();
      const k = key('tx');
      const results = await redis.multi().set(k, 'text').incr(k).get(k).exec({ keepErrors: true });
      expect(results).toEqual([
        { result: 'OK', error: undefined },
        { result: undefined, error: expect.stringMatching(/not an integer/) },
        { result: 'text', error: undefined },
      ]);
      expect(await (await direct()).get(k)).toBe('text');
      // Without keepErrors the client names the failing command, as it does against Upstash.
      await expect(redis.multi().set(k, 'again').incr(k).exec()).rejects.toThrow(
        /Command 2 \[ incr \] failed/,
      );
      expect(await (await direct()).get(k)).toBe('again');
    });
  });

  it('discards a whole transaction with one error when a command is refused or cannot be queued', async () => {
    await withRedisRest(async ({ post, key, direct }) => {
      const k = key('discarded');
      for (const bad of [['SUBSCRIBE', key('ch')], ['BLPOP', k, '0'], ['NOSUCHCOMMAND'], ['SET', k]]) {
        const response = await within(5000, String(bad[0]), post('/multi-exec', [['SET', k, 'x'], bad]));
        expect({ bad, status: response.status }).toEqual({ bad, status: 400 });
        expect(await response.json()).toEqual({ error: expect.stringMatching(/^(ERR|EXECABORT) /) });
      }
      expect(await (await direct()).get(k)).toBeNull();
      // A refused command in a pipeline fails alone.
      const piped = await post('/pipeline', [
        ['SET', k, 'y'],
        ['SELECT', '2'],
        ['GET', k],
      ]);
      expect(await piped.json()).toEqual([
        { result: 'OK' },
        { error: expect.stringMatching(REFUSED) },
        { result: 'y' },
      ]);
    });
  });

  it('keeps concurrent transactions atomic and apart from concurrent plain requests', async () => {
    await withRedisRest(async ({ client, key }) => {
      const redis = client();
      const counter = key('counter');
      const other = key('other');
      const rounds = 25;
      const [transactions] = await within(
        20_000,
        'concurrent transactions',
        Promise.all([
          Promise.all(
            Array.from({ length: rounds }, () =>
              redis.multi().incr(counter).incr(counter).incr(counter).exec(),
            ),
          ),
          Promise.all(Array.from({ length: rounds }, () => client().incr(other))),
        ]),
      );
      // Nothing ran in between a transaction's commands: each saw three consecutive values.
      for (const [a, b, c] of transactions as Array<[number, number, number]>) {
        expect([b - a, c - b]).toEqual([1, 1]);
      }
      expect(await redis.get(counter)).toBe(rounds * 3);
      expect(await redis.get(other)).toBe(rounds);
    });
  });
});
