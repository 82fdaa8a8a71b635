import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { envNameFor, FIELDS, type Field, fieldForPath } from './fields.ts';
import { type Config, ConfigSchema } from './schema.ts';

// Settings come in layers (embedded defaults < TOML < AIRLOCK_* env). Each
// value remembers where it came from so a bad one can be reported as
// `path: expected X, got Y (from SOURCE)` — every problem at once.

export interface ConfigEntry {
  readonly path: readonly string[];
  readonly value: unknown;
  readonly source: string;
}

export interface ConfigLayer {
  readonly entries: readonly ConfigEntry[];
  readonly problems: readonly string[];
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Names under AIRLOCK_ that are not settings: where config lives, the dev tooling's own knobs (AIRLOCK_REDIS_URL is the Redis behind the local REST server), the test suites' (AIRLOCK_TEST_*, AIRLOCK_E2E_*), the runner's (AIRLOCK_RUNNER_*) and the image builder's (AIRLOCK_IMAGE_*). */
const RESERVED_ENV =
  /^AIRLOCK_(CONFIG_PATH$|CONFIG_TOML$|DEV_|TEST_|E2E_|RUNNER_|IMAGE_|PORT$|STATE_DIR$|REDIS_URL$)/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function flatten(value: unknown, path: string[], source: string, out: ConfigEntry[]): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) flatten(child, [...path, key], source, out);
  } else {
    out.push({ path, value, source });
  }
}

/** A layer from a nested object (embedded defaults, or an already-parsed file). */
export function objectLayer(values: Record<string, unknown>, source: string): ConfigLayer {
  const entries: ConfigEntry[] = [];
  flatten(values, [], source, entries);
  return { entries: entries.filter((e) => e.path.length > 0), problems: [] };
}

export function tomlLayer(text: string, file: string): ConfigLayer {
  const source = `file ${file}`;
  try {
    const parsed = parseToml(text) as Record<string, unknown>;
    return objectLayer(toPlain(parsed) as Record<string, unknown>, source);
  } catch (error) {
    if (error instanceof TomlError) {
      const firstLine = error.message.split('\n')[0] ?? 'syntax error';
      return {
        entries: [],
        problems: [
          `(toml): expected valid TOML, got ${firstLine} at line ${error.line}, column ${error.column} (from ${source})`,
        ],
      };
    }
    throw error;
  }
}

/** TOML dates and other class instances become strings so zod sees plain data. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date) return value.toISOString();
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}

function coerce(raw: string, field: Field): unknown {
  const text = raw.trim();
  switch (field.kind) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return raw;
    case 'array':
      if (text.startsWith('[')) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return raw;
        }
      }
      return text === '' ? [] : text.split(',').map((part) => part.trim());
    default:
      return raw;
  }
}

/**
 * AIRLOCK_* variables → settings. The rule: `AIRLOCK_` + the dotted path with
 * dots as underscores, uppercased (`auth.otp.length` → `AIRLOCK_AUTH_OTP_LENGTH`).
 * For tables keyed by name (`integrations.master_keys`) the key is appended
 * (`AIRLOCK_INTEGRATIONS_MASTER_KEYS_2`) and read lowercased.
 */
export function envLayer(env: Readonly<Record<string, unknown>>): ConfigLayer {
  const entries: ConfigEntry[] = [];
  const problems: string[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith('AIRLOCK_') && !RESERVED_ENV.test(name))
    .sort();
  for (const name of names) {
    const raw = env[name];
    if (typeof raw !== 'string') continue;
    const source = `env ${name}`;
    const exact = FIELDS.find((f) => f.kind !== 'record' && f.envName === name);
    if (exact) {
      entries.push({ path: exact.path.split('.'), value: coerce(raw, exact), source });
      continue;
    }
    const record = FIELDS.find((f) => f.kind === 'record' && name.startsWith(`${f.envName}_`));
    if (record) {
      const key = name.slice(record.envName.length + 1).toLowerCase();
      entries.push({ path: [...record.path.split('.'), key], value: raw, source });
      continue;
    }
    problems.push(
      `${name}: expected a known AIRLOCK_* setting (see config/config.sample.toml), got an unknown variable (from ${source})`,
    );
  }
  return { entries, problems };
}

/** A table to merge into: it inherits nothing, so a key named `__proto__` is just a key. */
function table(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

// Paths come from files and env names: keys are own properties of null-prototype tables, so
// `__proto__` or `constructor` in a path can neither reach nor replace a prototype.
function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (!isPlainObject(next))
      Object.defineProperty(node, key, {
        value: table(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined)
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

function getIn(target: unknown, path: readonly (string | number)[]): unknown {
  let node = target;
  for (const key of path) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    if (!Object.hasOwn(node, String(key))) return undefined;
    node = (node as Record<string, unknown>)[String(key)];
  }
  return node;
}

function describe(value: unknown, secret: boolean): string {
  if (value === undefined) return 'nothing';
  if (secret && typeof value === 'string') return `a hidden value of ${value.length} characters`;
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (isPlainObject(value)) return 'a table';
  return typeof value;
}

function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'object' ? 'a table' : issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'a URL';
      if (issue.format === 'regex') return issue.message.replace(/^Invalid string: /, '');
      return `a valid ${issue.format}`;
    case 'too_small': {
      const min = String(issue.minimum);
      if (issue.origin === 'string') return `at least ${min} characters`;
      if (issue.origin === 'array') return `at least ${min} items`;
      return `a number ${issue.inclusive ? '≥' : '>'} ${min}`;
    }
    case 'too_big': {
      const max = String(issue.maximum);
      if (issue.origin === 'string') return `at most ${max} characters`;
      if (issue.origin === 'array') return `at most ${max} items`;
      return `a number ${issue.inclusive ? '≤' : '<'} ${max}`;
    }
    case 'invalid_key':
      return issue.issues[0] ? expectation(issue.issues[0]) : 'a valid key';
    default:
      return issue.message;
  }
}

function sourceFor(
  path: readonly (string | number)[],
  provenance: ReadonlyMap<string, string>,
): string | undefined {
  const dotted = path.join('.');
  for (let i = path.length; i > 0; i--) {
    const found = provenance.get(path.slice(0, i).join('.'));
    if (found) return found;
  }
  for (const [key, source] of provenance) if (key.startsWith(`${dotted}.`)) return source;
  return undefined;
}

function formatIssue(
  issue: z.core.$ZodIssue,
  merged: unknown,
  provenance: ReadonlyMap<string, string>,
): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path.map(String), key];
      const known = Object.keys(shapeAt(issue.path));
      const hint = known.length > 0 ? ` (known: ${known.join(', ')})` : '';
      return `${path.join('.')}: expected no such key${hint}, got ${describe(getIn(merged, path), true)} (from ${sourceFor(path, provenance) ?? 'unknown'})`;
    });
  }
  const path = issue.path.map(String);
  const dotted = path.join('.') || '(root)';
  const field = fieldForPath(path.map(String));
  const value = issue.code === 'invalid_key' ? path[path.length - 1] : getIn(merged, path);
  const secret = issue.code !== 'invalid_key' && (field?.secret ?? false);
  const source =
    sourceFor(path, provenance) ??
    `not set; set ${dotted} in the config file or ${field && field.kind !== 'record' ? field.envName : envNameFor(dotted)}`;
  return [`${dotted}: expected ${expectation(issue)}, got ${describe(value, secret)} (from ${source})`];
}

/** Keys the schema allows at a path, for "did you mean" hints. */
function shapeAt(path: readonly PropertyKey[]): Record<string, unknown> {
  const prefix = path.map(String).join('.');
  const keys = new Set<string>();
  for (const f of FIELDS) {
    if (prefix === '' || f.path.startsWith(`${prefix}.`)) {
      const rest = prefix === '' ? f.path : f.path.slice(prefix.length + 1);
      const head = rest.split('.')[0];
      if (head) keys.add(head);
    }
  }
  return Object.fromEntries([...keys].map((k) => [k, true]));
}

/** Merge layers in order (later wins), validate, and return the config or throw every problem. */
export function resolveConfig(layers: readonly ConfigLayer[]): Config {
  const merged = table();
  const provenance = new Map<string, string>();
  const problems: string[] = [];
  for (const layer of layers) {
    problems.push(...layer.problems);
    for (const entry of layer.entries) {
      setIn(merged, entry.path, entry.value);
      provenance.set(entry.path.join('.'), entry.source);
    }
  }
  const result = ConfigSchema.safeParse(merged, { reportInput: true });
  if (result.success && problems.length === 0) return result.data;
  if (!result.success)
    for (const issue of result.error.issues) problems.push(...formatIssue(issue, merged, provenance));
  throw new ConfigError(problems);
}

/** Settings as AIRLOCK_* variables (the inverse of envLayer), e.g. for `wrangler dev` vars. */
export function toEnvVars(config: Config): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = getIn(config, field.path.split('.'));
    if (value === undefined) continue;
    if (field.kind === 'record' && isPlainObject(value)) {
      for (const [key, inner] of Object.entries(value))
        vars[`${field.envName}_${key.toUpperCase()}`] = String(inner);
    } else if (Array.isArray(value)) {
      vars[field.envName] = JSON.stringify(value);
    } else {
      vars[field.envName] = String(value);
    }
  }
  return vars;
}
