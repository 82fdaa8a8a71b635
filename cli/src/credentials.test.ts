import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsPath, readCredentials, removeCredentials, writeCredentials } from './credentials.ts';

// The stored login on a real filesystem: where it goes, its modes, and what is refused.

const sample = {
  version: 1 as const,
  url: 'http://127.0.0.1:8787',
  token: 'alk_0123456789abcdef0123456789abcdef0123456789a',
  orgId: 'org_01JD0000000000000000000000',
  email: 'me@example.test',
  tokenId: null,
};

describe('credentials file', () => {
  it('lives in $XDG_CONFIG_HOME/airlock, else ~/.config/airlock', () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/x/conf', HOME: '/home/me' })).toBe(
      '/x/conf/airlock/credentials.json',
    );
    expect(credentialsPath({ HOME: '/home/me' })).toBe('/home/me/.config/airlock/credentials.json');
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    expect(credentialsPath({ XDG_CONFIG_HOME: 'conf', HOME: '/home/me' })).toBe(
      '/home/me/.config/airlock/credentials.json',
    );
  });

  it('is written 0600 in a 0700 directory (tightening an existing one) and read back', () => {
    const home = mkdtempSync(join(tmpdir(), 'airlock-cred-'));
    const path = join(home, 'airlock/credentials.json');
    writeFileSync(join(home, 'placeholder'), '');
    writeCredentials(path, sample);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    chmodSync(dirname(path), 0o755);
    writeCredentials(path, { ...sample, email: 'again@example.test' });
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
    expect(readCredentials(path)).toEqual({ ...sample, email: 'again@example.test' });
    expect(removeCredentials(path)).toBe(true);
    expect(readCredentials(path)).toBeNull();
    expect(removeCredentials(path)).toBe(false);
  });

  it('refuses a file others can read, and one that is not ours, saying what to do', () => {
    const home = mkdtempSync(join(tmpdir(), 'airlock-cred-'));
    const path = join(home, 'airlock/credentials.json');
    writeCredentials(path, sample);
    chmodSync(path, 0o644);
    expect(() => readCredentials(path)).toThrow(/can be read by others \(mode 644\); run `chmod 600/);
    writeFileSync(path, '{"token": "x"}', { mode: 0o600 });
    chmodSync(path, 0o600);
    expect(() => readCredentials(path)).toThrow(/not a credentials file of this CLI/);
    expect(readFileSync(path, 'utf8')).toContain('"x"');
  });
});
