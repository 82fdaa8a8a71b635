import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from './settings.ts';

const RUNNER = 'rnr_01JD0000000000000000000000';
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('runner settings', () => {
  it('reads the URL and the token (from a file too), and takes its id from the token', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'runner-settings-')), 'token');
    writeFileSync(file, `${jwt({ sub: RUNNER })}\n`);
    const settings = loadSettings({
      AIRLOCK_RUNNER_URL: 'https://airlock.example.com',
      AIRLOCK_RUNNER_TOKEN_FILE: file,
    });
    expect(settings).toMatchObject({ runnerId: RUNNER, capacity: 10, stateDir: '/var/lib/airlock-runner' });
    expect(settings.url.href).toBe('https://airlock.example.com/');
  });

  it('lists every problem at once', () => {
    expect(() =>
      loadSettings({
        AIRLOCK_RUNNER_URL: 'ftp://x',
        AIRLOCK_RUNNER_CAPACITY: 'lots',
        AIRLOCK_RUNNER_TOKEN: jwt({ sub: RUNNER }),
      }),
    ).toThrow(/AIRLOCK_RUNNER_URL: .*\n.*AIRLOCK_RUNNER_CAPACITY/s);
    expect(() => loadSettings({ AIRLOCK_RUNNER_URL: 'http://x', AIRLOCK_RUNNER_TYPO: '1' })).toThrow(
      /Unrecognized key/,
    );
    expect(() => loadSettings({ AIRLOCK_RUNNER_URL: 'http://x' })).toThrow(/TOKEN/);
    expect(() =>
      loadSettings({ AIRLOCK_RUNNER_URL: 'http://x', AIRLOCK_RUNNER_TOKEN: jwt({ sub: 'usr_1' }) }),
    ).toThrow(/names no runner/);
  });
});
