import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createContext } from './context.ts';

// Where the token and the server come from, with a real (and sometimes broken) stored login.

const TOKEN = 'alk_0123456789abcdef0123456789abcdef0123456789a';

function homeWith(credentials: string, mode = 0o600): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-ctx-'));
  mkdirSync(join(home, '.config/airlock'), { recursive: true, mode: 0o700 });
  const path = join(home, '.config/airlock/credentials.json');
  writeFileSync(path, credentials, { mode });
  chmodSync(path, mode);
  return { HOME: home };
}

describe('createContext', () => {
  it('with a token and a URL given, does not read the stored login (a broken one is no obstacle)', () => {
    const env = homeWith('{ not json', 0o644);
    expect(() => createContext({ token: TOKEN, url: 'http://127.0.0.1:9' }, env)).not.toThrow();
    expect(() =>
      createContext({}, { ...env, AIRLOCK_TOKEN: TOKEN, AIRLOCK_URL: 'http://127.0.0.1:9' }),
    ).not.toThrow();
  });

  it('with only a token given, still reads the stored login for its URL, and says when it is unreadable', () => {
    const env = homeWith('{ not json', 0o644);
    expect(() => createContext({ token: TOKEN }, env)).toThrow(/can be read by others/);
  });

  it('sends a stored token only to the server it was issued by', () => {
    const env = homeWith(
      JSON.stringify({
        version: 1,
        url: 'http://127.0.0.1:8787',
        token: TOKEN,
        orgId: 'org_01JD0000000000000000000000',
        email: 'me@example.test',
        tokenId: null,
      }),
    );
    expect(() => createContext({}, env)).not.toThrow();
    expect(() => createContext({ url: 'http://evil.example.test' }, env)).toThrow(
      /Not logged in to http:\/\/evil\.example\.test \(the stored login is for http:\/\/127\.0\.0\.1:8787\)/,
    );
  });
});
