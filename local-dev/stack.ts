import { toEnvVars } from '@airlock/config';
import { type DevSecrets, devConfig, devSecrets } from './dev-config.ts';
import { applyMigrations } from './migrate.ts';
import { npmRegistryUrl } from './npm-registry.ts';
import { type MailMessage, startMailSink } from './services/mail-sink.ts';
import { startNeonProxy } from './services/neon-proxy.ts';
import { startPostgres } from './services/postgres.ts';
import { startRedis } from './services/redis.ts';
import { startRedisRest } from './services/redis-rest.ts';

// Every local service the Worker needs, started in dependency order and
// stopped in reverse: Postgres (+ the Neon WebSocket proxy in front of it),
// Redis (+ the Upstash REST server in front of it) and the mail sink.

export interface StackInput {
  /** Persist data and secrets here (./dev start); omit for a throwaway stack (tests). */
  readonly stateDir?: string;
  readonly publicUrl: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  readonly onMail?: (message: MailMessage) => void;
}

export interface Stack {
  /** AIRLOCK_* variables for the Worker (wrangler dev vars / test bindings). */
  readonly vars: Readonly<Record<string, string>>;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly mailUrl: string;
  readonly secrets: DevSecrets;
  stop(): Promise<void>;
}

function withNpmRegistry(): { npmRegistry?: string } {
  const url = npmRegistryUrl();
  return url === undefined ? {} : { npmRegistry: url };
}

export async function startStack(input: StackInput): Promise<Stack> {
  const env = input.env ?? process.env;
  const secrets = devSecrets(input.stateDir);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    const postgres = await startPostgres({
      externalUrl: env.AIRLOCK_DATABASE_URL,
      ...(input.stateDir ? { dataDir: `${input.stateDir}/pg` } : {}),
      password: secrets.postgresPassword,
      ...(input.log ? { log: input.log } : {}),
    });
    stops.push(postgres.stop);
    await applyMigrations(postgres.url);
    const proxy = await startNeonProxy({ postgresHost: postgres.host, postgresPort: postgres.port });
    stops.push(proxy.close);
    const redis = await startRedis({
      externalUrl: env.AIRLOCK_REDIS_URL,
      ...(input.stateDir ? { dataDir: `${input.stateDir}/redis` } : {}),
    });
    stops.push(redis.stop);
    const rest = await startRedisRest({ redisUrl: redis.url, token: secrets.kvToken });
    stops.push(rest.close);
    const mail = await startMailSink({
      apiKey: secrets.mailApiKey,
      ...(input.onMail ? { print: input.onMail } : {}),
    });
    stops.push(mail.close);

    // The URL Workers see; the TOML/env layers may still override any of it.
    const databaseUrl = postgres.url;
    const config = devConfig(
      {
        publicUrl: input.publicUrl,
        databaseUrl,
        wsProxy: proxy.wsProxy,
        kvRestUrl: rest.url,
        mailEndpoint: mail.endpoint,
        ...withNpmRegistry(),
      },
      secrets,
      env,
    );
    return { vars: toEnvVars(config), databaseUrl, redisUrl: redis.url, mailUrl: mail.url, secrets, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
