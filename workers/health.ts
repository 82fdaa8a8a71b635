import { sql } from 'drizzle-orm';
import type { AppContext } from './lib/context.ts';
import { safeErrorMessage } from './lib/log.ts';

// GET /healthz: is each dependency reachable right now? 200 when all are,
// 503 naming the failing one otherwise. Each check is bounded in time.

interface Check {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

const CHECK_TIMEOUT_MS = 3000;

async function timed(run: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (error) {
    return { ok: false, latencyMs: Date.now() - started, error: safeErrorMessage(error) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

export async function health(c: AppContext): Promise<Response> {
  const scope = c.get('scope');
  const config = scope.config();
  const [postgres, redis] = await Promise.all([
    timed(() => scope.db().execute(sql`select 1`)),
    timed(async () => {
      const answer = await scope.kv().redis.ping();
      if (answer !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(answer)}`);
    }),
  ]);
  const ok = postgres.ok && redis.ok;
  return c.json(
    { status: ok ? 'ok' : 'degraded', env: config.env, checks: { postgres, redis } },
    ok ? 200 : 503,
    { 'cache-control': 'no-store' },
  );
}
