import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, type ConfigLayer, objectLayer } from '@airlock/config';
import { loadNodeConfig } from '@airlock/config/node';

// Embedded defaults: everything a deployment would put in a secret store is
// generated once per checkout into .airlock/secrets.json (mode 0600, never
// committed), so `./dev start` needs no accounts and no config file.

export interface DevSecrets {
  readonly pepper: string;
  readonly tokenKeys: Readonly<Record<'bootstrap' | 'pty' | 'runner' | 'preview', string>>;
  readonly masterKeyV1: string;
  readonly kvToken: string;
  readonly postgresPassword: string;
  readonly mailApiKey: string;
}

const token = (bytes = 32) => randomBytes(bytes).toString('base64url');

function generate(): DevSecrets {
  return {
    pepper: token(),
    tokenKeys: { bootstrap: token(), pty: token(), runner: token(), preview: token() },
    masterKeyV1: randomBytes(32).toString('base64'),
    kvToken: token(24),
    postgresPassword: token(18),
    mailApiKey: token(18),
  };
}

/** Read the checkout's dev secrets, creating them on first use. Without a directory, fresh ones. */
export function devSecrets(stateDir?: string): DevSecrets {
  if (stateDir === undefined) return generate();
  const file = join(stateDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  mkdirSync(stateDir, { recursive: true });
  const secrets = generate();
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

export interface LocalServices {
  readonly publicUrl: string;
  readonly databaseUrl: string;
  readonly wsProxy: string;
  readonly kvRestUrl: string;
  readonly mailEndpoint: string;
  /** `npm config get registry` of this machine, for snapshot builds (absent: builds fail saying so). */
  readonly npmRegistry?: string;
}

/** The embedded-defaults layer: local service addresses plus the generated secrets. */
export function devLayer(services: LocalServices, secrets: DevSecrets): ConfigLayer {
  const purpose = (secret: string) => ({ keys: { k1: secret }, active_kid: 'k1' });
  return objectLayer(
    {
      // Loopback stand-ins speak plain http: only `local` lets connections point at them.
      env: 'local',
      services: { public_url: services.publicUrl },
      database: { url: services.databaseUrl, ws_proxy: services.wsProxy, secure_websocket: false },
      kv: { rest_url: services.kvRestUrl, rest_token: secrets.kvToken },
      mail: { provider: 'http', http_endpoint: services.mailEndpoint, http_api_key: secrets.mailApiKey },
      auth: { pepper: secrets.pepper },
      tokens: {
        bootstrap: purpose(secrets.tokenKeys.bootstrap),
        pty: purpose(secrets.tokenKeys.pty),
        runner: purpose(secrets.tokenKeys.runner),
        preview: purpose(secrets.tokenKeys.preview),
      },
      integrations: { active_master_key_version: 1, master_keys: { '1': secrets.masterKeyV1 } },
      ...(services.npmRegistry === undefined ? {} : { sandbox: { npm_registry: services.npmRegistry } }),
    },
    'embedded default',
  );
}

/** Embedded defaults < AIRLOCK_CONFIG_PATH file < AIRLOCK_* env, validated. */
export function devConfig(services: LocalServices, secrets: DevSecrets, env = process.env): Config {
  return loadNodeConfig({ base: [devLayer(services, secrets)], env });
}
