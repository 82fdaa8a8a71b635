import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configFromWorkerEnv,
  envLayer,
  FIELDS,
  objectLayer,
  resolveConfig,
  toEnvVars,
  tomlLayer,
} from './index.ts';
import { loadNodeConfig } from './node.ts';

const SAMPLE = readFileSync(new URL('./config.sample.toml', import.meta.url), 'utf8');
const KEY = 'x'.repeat(32);
const MASTER = Buffer.alloc(32, 7).toString('base64');

/** The smallest valid set of settings: everything without a default. */
function minimal(): Record<string, unknown> {
  const purpose = { keys: { k1: KEY }, active_kid: 'k1' };
  return {
    database: { url: 'postgres://u:p@127.0.0.1:5432/db' },
    kv: { rest_url: 'http://127.0.0.1:8079', rest_token: 'token-123' },
    auth: { pepper: KEY },
    tokens: { bootstrap: purpose, pty: purpose, runner: purpose, preview: purpose },
    integrations: { active_master_key_version: 1, master_keys: { '1': MASTER } },
  };
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Every key the sample names, set or shown commented out (`# key = …`), as dotted paths. */
function documentedPaths(text: string): Set<string> {
  const paths = new Set<string>();
  let section: string[] = [];
  for (const line of text.split('\n')) {
    const header = /^#?\s*\[([a-z0-9_.]+)\]\s*$/.exec(line);
    if (header?.[1]) {
      section = header[1].split('.');
      for (let i = 1; i <= section.length; i++) paths.add(section.slice(0, i).join('.'));
      continue;
    }
    const key = /^#?\s*([a-z0-9_]+)\s*=/.exec(line);
    if (key?.[1]) paths.add([...section, key[1]].join('.'));
  }
  return paths;
}

describe('config.sample.toml', () => {
  it('documents every setting the schema has', () => {
    const documented = documentedPaths(SAMPLE);
    expect(Object.keys(parse(SAMPLE))).toContain('tokens');
    const missing = FIELDS.map((f) => f.path).filter((p) => !documented.has(p));
    expect(missing).toEqual([]);
  });

  it('is itself a valid configuration', () => {
    const config = resolveConfig([tomlLayer(SAMPLE, 'config.sample.toml')]);
    expect(config.sandbox.provider).toBe('docker');
    expect(config.auth.otp.length).toBe(6);
  });
});

describe('env naming rule', () => {
  it('gives every setting a distinct AIRLOCK_ name', () => {
    const names = FIELDS.map((f) => f.envName);
    expect(new Set(names).size).toBe(names.length);
    expect(FIELDS.find((f) => f.path === 'auth.otp.expires_in_seconds')?.envName).toBe(
      'AIRLOCK_AUTH_OTP_EXPIRES_IN_SECONDS',
    );
    expect(FIELDS.find((f) => f.path === 'database.url')?.envName).toBe('AIRLOCK_DATABASE_URL');
  });

  it('reads tables keyed by name from a suffix', () => {
    const config = resolveConfig([
      objectLayer(minimal(), 'default'),
      envLayer({
        AIRLOCK_INTEGRATIONS_MASTER_KEYS_2: MASTER,
        AIRLOCK_INTEGRATIONS_ACTIVE_MASTER_KEY_VERSION: '2',
      }),
    ]);
    expect(config.integrations.active_master_key_version).toBe(2);
    expect(Object.keys(config.integrations.master_keys).sort()).toEqual(['1', '2']);
  });

  it('round-trips through toEnvVars', () => {
    const config = resolveConfig([objectLayer(minimal(), 'default')]);
    const again = resolveConfig([envLayer(toEnvVars(config))]);
    expect(again).toEqual(config);
  });
});

describe('precedence', () => {
  it('lets the TOML file override defaults and env override the file', () => {
    const toml = '[auth.otp]\nlength = 8\nallowed_attempts = 3\n[limits]\nidle_timeout_seconds = 120\n';
    const config = resolveConfig([
      objectLayer(minimal(), 'default'),
      tomlLayer(toml, 'airlock.toml'),
      envLayer({ AIRLOCK_AUTH_OTP_LENGTH: '7', AIRLOCK_SANDBOX_PROVIDER: 'docker' }),
    ]);
    expect(config.auth.otp.length).toBe(7); // env beats file
    expect(config.auth.otp.allowed_attempts).toBe(3); // file beats default
    expect(config.limits.idle_timeout_seconds).toBe(120);
    expect(config.auth.otp.expires_in_seconds).toBe(600); // schema default
  });

  it('reads the file named by AIRLOCK_CONFIG_PATH in Node', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-config-'));
    writeFileSync(join(dir, 'a.toml'), '[limits]\nscrollback_bytes = 131072\n');
    const config = loadNodeConfig({
      base: [objectLayer(minimal(), 'default')],
      env: { AIRLOCK_CONFIG_PATH: 'a.toml', AIRLOCK_LIMITS_SESSION_TTL_SECONDS: '60' },
      cwd: dir,
    });
    expect(config.limits.scrollback_bytes).toBe(131072);
    expect(config.limits.session_ttl_seconds).toBe(60);
  });

  it('builds from Worker vars with an optional TOML document underneath', () => {
    const base = toEnvVars(resolveConfig([objectLayer(minimal(), 'default')]));
    const env = {
      ...Object.fromEntries(Object.entries(base).filter(([name]) => !name.startsWith('AIRLOCK_AUTH_OTP_'))),
      AIRLOCK_CONFIG_TOML: '[auth.otp]\nlength = 9\nallowed_attempts = 2\n',
      AIRLOCK_AUTH_OTP_LENGTH: '5',
      DB: { binding: true },
    };
    const config = configFromWorkerEnv(env);
    expect(config.auth.otp.length).toBe(5);
    expect(config.auth.otp.allowed_attempts).toBe(2);
    expect(configFromWorkerEnv(env)).toBe(config); // parsed once per env object
  });
});

describe('bad configuration', () => {
  it('reports a missing key with where to set it', () => {
    const values = minimal();
    delete values.database;
    const problems = problemsOf(() => resolveConfig([objectLayer(values, 'default')]));
    expect(problems).toContain(
      'database: expected a table, got nothing (from not set; set database in the config file or AIRLOCK_DATABASE)',
    );
  });

  it('reports a wrong type with its source', () => {
    const problems = problemsOf(() =>
      resolveConfig([objectLayer(minimal(), 'default'), envLayer({ AIRLOCK_AUTH_OTP_LENGTH: 'six' })]),
    );
    expect(problems).toEqual([
      'auth.otp.length: expected number, got "six" (from env AIRLOCK_AUTH_OTP_LENGTH)',
    ]);
  });

  it('reports a bad URL from the file', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        objectLayer(minimal(), 'default'),
        tomlLayer('[services]\npublic_url = "not a url"\n', 'x.toml'),
      ]),
    );
    expect(problems).toEqual(['services.public_url: expected a URL, got "not a url" (from file x.toml)']);
  });

  it('reports an unknown provider', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        objectLayer(minimal(), 'default'),
        tomlLayer('[sandbox]\nprovider = "k8s"\n', 'x.toml'),
      ]),
    );
    expect(problems).toEqual([
      'sandbox.provider: expected one of "docker" | "e2b" | "modal", got "k8s" (from file x.toml)',
    ]);
  });

  it('reports malformed TOML with line and column', () => {
    const problems = problemsOf(() =>
      resolveConfig([objectLayer(minimal(), 'default'), tomlLayer('[auth\nx = 1\n', 'x.toml')]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^\(toml\): expected valid TOML, got .* at line 1, column \d+ \(from file x\.toml\)$/,
    );
  });

  it('reports an unknown key and lists the known ones', () => {
    const problems = problemsOf(() =>
      resolveConfig([objectLayer(minimal(), 'default'), tomlLayer('[auth.otp]\nlenght = 8\n', 'x.toml')]),
    );
    expect(problems).toEqual([
      'auth.otp.lenght: expected no such key (known: length, expires_in_seconds, allowed_attempts, sends_per_hour), got number 8 (from file x.toml)',
    ]);
  });

  it('reports an unknown AIRLOCK_ variable instead of ignoring a typo', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        objectLayer(minimal(), 'default'),
        envLayer({ AIRLOCK_AUTH_OTP_LENGHT: '8', AIRLOCK_DEV_X: '1', AIRLOCK_E2E_REQUIRE_SANDBOX: '1' }),
      ]),
    );
    expect(problems).toEqual([
      'AIRLOCK_AUTH_OTP_LENGHT: expected a known AIRLOCK_* setting (see config/config.sample.toml), got an unknown variable (from env AIRLOCK_AUTH_OTP_LENGHT)',
    ]);
  });

  it('reports a provider section that is required but missing', () => {
    const problems = problemsOf(() =>
      resolveConfig([objectLayer(minimal(), 'default'), envLayer({ AIRLOCK_SANDBOX_PROVIDER: 'e2b' })]),
    );
    expect(problems).toEqual([
      'sandbox.e2b: expected provider "e2b" needs the [sandbox.e2b] section, got nothing (from not set; set sandbox.e2b in the config file or AIRLOCK_SANDBOX_E2B)',
    ]);
  });

  it('never echoes a secret value, even when it is wrong', () => {
    const problems = problemsOf(() =>
      resolveConfig([objectLayer(minimal(), 'default'), envLayer({ AIRLOCK_AUTH_PEPPER: 'hunter2-short' })]),
    );
    expect(problems).toEqual([
      'auth.pepper: expected at least 32 characters, got a hidden value of 13 characters (from env AIRLOCK_AUTH_PEPPER)',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('lists every problem at once, not just the first', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        tomlLayer('[limits]\nscrollback_bytes = "big"\n', 'x.toml'),
        envLayer({ AIRLOCK_SANDBOX_PROVIDER: 'k8s', AIRLOCK_SERVICES_PUBLIC_URL: 'nope' }),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(8);
    expect(problems.some((p) => p.startsWith('limits.scrollback_bytes: expected number'))).toBe(true);
    expect(problems.some((p) => p.startsWith('kv: expected a table, got nothing'))).toBe(true);
  });

  it('has gateway resource bounds by default, and refuses a message cap over half the tunnel buffer', () => {
    const config = resolveConfig([objectLayer(minimal(), 'default')]);
    expect(config.limits).toMatchObject({
      tunnel_max_streams: 128,
      tunnel_buffer_bytes: 32 * 1024 * 1024,
      websocket_message_bytes: 16 * 1024 * 1024,
      denied_audit_window_seconds: 60,
    });
    const problems = problemsOf(() =>
      resolveConfig([
        objectLayer(minimal(), 'default'),
        envLayer({ AIRLOCK_LIMITS_TUNNEL_BUFFER_BYTES: String(8 * 1024 * 1024) }),
      ]),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^limits\.websocket_message_bytes: .*half of tunnel_buffer_bytes/),
    ]);
  });

  it('names a config file that does not exist', () => {
    const problems = problemsOf(() => loadNodeConfig({ env: { AIRLOCK_CONFIG_PATH: '/nope/airlock.toml' } }));
    expect(problems).toEqual([
      'AIRLOCK_CONFIG_PATH: expected a readable TOML file, got "/nope/airlock.toml" which does not exist (from env AIRLOCK_CONFIG_PATH)',
    ]);
  });
});

// Key tables come from files and env, and their keys are looked up by names that arrive in
// tokens and ciphertexts (ADR 0100): only configured keys count, never an inherited property.
describe('key tables', () => {
  it('refuses an active kid that names no configured key, even one every object inherits', () => {
    const settings = minimal();
    const tokens = settings.tokens as Record<string, Record<string, unknown>>;
    for (const kid of ['constructor', 'toString', 'hasOwnProperty'])
      expect(
        problemsOf(() =>
          resolveConfig([objectLayer(settings, 'default'), envLayer({ AIRLOCK_TOKENS_PTY_ACTIVE_KID: kid })]),
        ),
      ).toEqual([
        `tokens.pty.active_kid: expected active_kid must name one of the keys, got "${kid}" (from env AIRLOCK_TOKENS_PTY_ACTIVE_KID)`,
      ]);
    expect(tokens.pty?.active_kid).toBe('k1');
  });

  it('refuses an active master key version that names no configured key', () => {
    expect(
      problemsOf(() =>
        resolveConfig([
          objectLayer(minimal(), 'default'),
          envLayer({ AIRLOCK_INTEGRATIONS_ACTIVE_MASTER_KEY_VERSION: '2' }),
        ]),
      ),
    ).toEqual([
      'integrations.active_master_key_version: expected active_master_key_version must name one of master_keys, got number 2 (from env AIRLOCK_INTEGRATIONS_ACTIVE_MASTER_KEY_VERSION)',
    ]);
  });

  it('builds key tables that inherit nothing, so a lookup by any name finds configured keys only', () => {
    const config = resolveConfig([objectLayer(minimal(), 'default')]);
    for (const table of [
      config.tokens.bootstrap.keys,
      config.tokens.pty.keys,
      config.integrations.master_keys,
    ]) {
      expect(Object.getPrototypeOf(table)).toBeNull();
      expect((table as Record<string, unknown>).constructor).toBeUndefined();
      expect(Object.isFrozen(table)).toBe(true);
    }
    // A kid that shares a name with an inherited property is an ordinary key.
    const named = resolveConfig([
      objectLayer(minimal(), 'default'),
      envLayer({ AIRLOCK_TOKENS_PTY_KEYS_CONSTRUCTOR: KEY, AIRLOCK_TOKENS_PTY_ACTIVE_KID: 'constructor' }),
    ]);
    expect(named.tokens.pty.keys.constructor).toBe(KEY);
  });

  it('merges a file naming __proto__ or constructor without touching any prototype', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        objectLayer(minimal(), 'default'),
        tomlLayer(
          '[limits.__proto__]\npolluted = "yes"\n[auth.constructor.prototype]\npolluted = "yes"\n',
          'evil.toml',
        ),
      ]),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    expect(problems.join('\n')).toMatch(/limits\.__proto__: expected no such key/);
    expect(problems.join('\n')).toMatch(/auth\.constructor: expected no such key/);
  });
});
