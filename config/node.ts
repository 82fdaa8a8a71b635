import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type ConfigLayer, envLayer, resolveConfig, tomlLayer } from './load.ts';
import type { Config } from './schema.ts';

export interface NodeConfigInput {
  /** Lowest layer: embedded defaults (e.g. what `./dev start` generated). */
  readonly base?: readonly ConfigLayer[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** Embedded defaults < TOML file at AIRLOCK_CONFIG_PATH < AIRLOCK_* env. */
export function loadNodeConfig(input: NodeConfigInput = {}): Config {
  const env = input.env ?? process.env;
  const layers: ConfigLayer[] = [...(input.base ?? [])];
  const configPath = env.AIRLOCK_CONFIG_PATH;
  if (configPath !== undefined && configPath !== '') {
    const file = resolve(input.cwd ?? process.cwd(), configPath);
    if (!existsSync(file)) {
      throw new ConfigError([
        `AIRLOCK_CONFIG_PATH: expected a readable TOML file, got ${JSON.stringify(configPath)} which does not exist (from env AIRLOCK_CONFIG_PATH)`,
      ]);
    }
    layers.push(tomlLayer(readFileSync(file, 'utf8'), configPath));
  }
  layers.push(envLayer(env));
  return resolveConfig(layers);
}
