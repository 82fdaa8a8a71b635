export { envNameFor, FIELDS, type Field } from './fields.ts';
export {
  type ConfigEntry,
  ConfigError,
  type ConfigLayer,
  envLayer,
  objectLayer,
  resolveConfig,
  toEnvVars,
  tomlLayer,
} from './load.ts';
export {
  allowsPlainHttp,
  type Config,
  type ConfigInput,
  ConfigSchema,
  SandboxProvider,
  type TokenPurpose,
} from './schema.ts';
export { configFromWorkerEnv } from './worker.ts';
