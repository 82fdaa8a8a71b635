import { readFileSync } from 'node:fs';
import { RunnerId } from '@airlock/schema/runner';
import { z } from 'zod';

// The runner's own settings, from its environment (it runs on its own host,
// apart from the Worker's configuration). Problems are reported all at once.

const Env = z.strictObject({
  /** Origin of the Airlock Worker, e.g. https://airlock.example.com. */
  AIRLOCK_RUNNER_URL: z.url({ protocol: /^https?$/ }),
  AIRLOCK_RUNNER_TOKEN: z.string().min(20).optional(),
  /** A file holding the token (preferred over the variable: it stays out of `ps e`). */
  AIRLOCK_RUNNER_TOKEN_FILE: z.string().min(1).optional(),
  /** Per-sandbox directories (the tunnel sockets live here). */
  AIRLOCK_RUNNER_STATE_DIR: z.string().min(1).default('/var/lib/airlock-runner'),
  AIRLOCK_RUNNER_CAPACITY: z.coerce.number().int().min(0).max(10_000).default(10),
  /** Test hook: stop dead after this step (`create`: after the container exists, before the result). */
  AIRLOCK_RUNNER_TEST_HOLD: z.enum(['create']).optional(),
});

export interface RunnerSettings {
  readonly url: URL;
  readonly token: string;
  readonly runnerId: string;
  readonly stateDir: string;
  readonly capacity: number;
  readonly testHold: 'create' | undefined;
}

export class SettingsError extends Error {}

/** The runner id is the token's subject; the hub checks it, this only labels containers with it. */
function subjectOf(token: string): string {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new SettingsError('the runner token is not a JWT');
  let sub: unknown;
  try {
    sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
  } catch {
    throw new SettingsError('the runner token is not a JWT');
  }
  const parsed = RunnerId.safeParse(sub);
  if (!parsed.success) throw new SettingsError('the runner token names no runner (sub)');
  return parsed.data;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): RunnerSettings {
  const picked = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('AIRLOCK_RUNNER_')));
  const parsed = Env.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new SettingsError(lines.join('\n'));
  }
  const s = parsed.data;
  const token =
    s.AIRLOCK_RUNNER_TOKEN_FILE !== undefined
      ? readFileSync(s.AIRLOCK_RUNNER_TOKEN_FILE, 'utf8').trim()
      : s.AIRLOCK_RUNNER_TOKEN;
  if (token === undefined || token === '')
    throw new SettingsError('AIRLOCK_RUNNER_TOKEN or AIRLOCK_RUNNER_TOKEN_FILE is required');
  return {
    url: new URL(s.AIRLOCK_RUNNER_URL),
    token,
    runnerId: subjectOf(token),
    stateDir: s.AIRLOCK_RUNNER_STATE_DIR,
    capacity: s.AIRLOCK_RUNNER_CAPACITY,
    testHold: s.AIRLOCK_RUNNER_TEST_HOLD,
  };
}
