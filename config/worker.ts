import { type ConfigLayer, envLayer, resolveConfig, tomlLayer } from './load.ts';
import type { Config } from './schema.ts';

// In a Worker, settings arrive as `env` vars and secrets with the same
// AIRLOCK_* names; a whole TOML document may also be given as the var
// AIRLOCK_CONFIG_TOML (the base layer, overridden by the individual vars).

const cache = new WeakMap<object, Config>();

export function configFromWorkerEnv(env: object): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const vars = env as Record<string, unknown>;
  const layers: ConfigLayer[] = [];
  const toml = vars.AIRLOCK_CONFIG_TOML;
  if (typeof toml === 'string' && toml.trim() !== '') layers.push(tomlLayer(toml, 'AIRLOCK_CONFIG_TOML'));
  layers.push(envLayer(vars));
  const config = resolveConfig(layers);
  cache.set(env, config);
  return config;
}
