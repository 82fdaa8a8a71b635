import { type Config, ConfigError, configFromWorkerEnv } from '@airlock/config';
import { newId } from '@airlock/schema/ids';
import type { Context, MiddlewareHandler } from 'hono';
import { type Database, type DbHandle, openDb } from './db.ts';
import type { Env } from './env.ts';
import { type Kv, openKv } from './kv.ts';
import { createLogger, type Logger, type LogSink } from './log.ts';
import { ProblemError } from './problem.ts';

// What every handler can reach: the request id and logger, and config, Postgres
// and Redis opened lazily on first use (and closed when the request ends).

export interface RequestScope {
  readonly requestId: string;
  readonly log: Logger;
  /** The injected clock (tests move it; production reads the system clock). */
  now(): Date;
  config(): Config;
  db(): Database;
  kv(): Kv;
}

export interface AppEnv {
  Bindings: Env;
  Variables: { scope: RequestScope };
}

export type AppContext = Context<AppEnv>;

const REQUEST_ID = /^[A-Za-z0-9_.:-]{8,64}$/;

export function loadConfig(env: Env): Config {
  try {
    return configFromWorkerEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ProblemError('misconfigured', 'The server configuration is invalid; see `problems`.', {
        extensions: { problems: error.problems },
      });
    }
    throw error;
  }
}

export interface ScopeOptions {
  /** Milliseconds since the epoch; defaults to Date.now. */
  readonly clock?: () => number;
  /** Where log lines go; defaults to the console. */
  readonly logSink?: LogSink;
}

export function requestScope(options: ScopeOptions = {}): MiddlewareHandler<AppEnv> {
  const clock = options.clock ?? Date.now;
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : newId('request');
    const log = createLogger({ requestId }, options.logSink);
    let config: Config | undefined;
    let db: DbHandle | undefined;
    let kv: Kv | undefined;
    const scope: RequestScope = {
      requestId,
      log,
      now: () => new Date(clock()),
      config: () => {
        config ??= loadConfig(c.env);
        return config;
      },
      db: () => {
        db ??= openDb(scope.config());
        return db.db;
      },
      kv: () => {
        kv ??= openKv(scope.config());
        return kv;
      },
    };
    c.set('scope', scope);
    const started = Date.now();
    try {
      await next();
    } finally {
      c.header('x-request-id', requestId);
      const opened = db;
      if (opened) c.executionCtx.waitUntil(opened.end().catch(() => {}));
      log.info('request', {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        status: c.res.status,
        durationMs: Date.now() - started,
      });
    }
  };
}
