import type { Config } from '@airlock/config';
import * as tables from '@airlock/schema/db';
import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';

// Postgres through Neon's serverless driver (a Postgres wire protocol over
// WebSocket). Workers may not share I/O objects between requests, so every
// request gets its own pool and ends it when the response is done.

export type Database = NeonDatabase<typeof tables>;

export interface DbHandle {
  readonly db: Database;
  readonly pool: Pool;
  end(): Promise<void>;
}

function configureDriver(config: Config['database']): void {
  if (config.ws_proxy !== undefined) {
    neonConfig.wsProxy = config.ws_proxy;
    // Local Postgres behind a plain proxy: no TLS inside the socket, and the
    // password is not pipelined before the server names its auth method.
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
    neonConfig.useSecureWebSocket = config.secure_websocket;
  }
}

export function openDb(config: Config): DbHandle {
  configureDriver(config.database);
  const pool = new Pool({ connectionString: config.database.url, max: 5 });
  pool.on('error', () => {}); // a broken idle client surfaces on its next query instead
  const db = drizzle({ client: pool, schema: tables });
  return { db, pool, end: () => pool.end() };
}

/**
 * `work` on a pool of its own, ended afterwards: for code with no request to
 * hang a pool on (Workflow steps, Durable Object RPCs). `defer` hands the
 * pool's end to e.g. `ctx.waitUntil` instead of awaiting it.
 */
export async function withDb<T>(
  config: Config,
  work: (db: Database) => Promise<T>,
  defer?: (ending: Promise<void>) => void,
): Promise<T> {
  const handle = openDb(config);
  try {
    return await work(handle.db);
  } finally {
    const ending = handle.end().catch(() => {});
    if (defer === undefined) await ending;
    else defer(ending);
  }
}

export interface PgErrorInfo {
  /** SQLSTATE, e.g. `23505` unique violation, `AL409` published version changed. */
  readonly code: string;
  readonly constraint: string | undefined;
  readonly message: string;
}

/** The Postgres error behind a Drizzle/driver error, if there is one. */
export function pgErrorOf(error: unknown): PgErrorInfo | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const candidate = current as Error & { code?: unknown; constraint?: unknown };
    if (typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) {
      return {
        code: candidate.code,
        constraint: typeof candidate.constraint === 'string' ? candidate.constraint : undefined,
        message: candidate.message,
      };
    }
    current = candidate.cause;
  }
  return undefined;
}
