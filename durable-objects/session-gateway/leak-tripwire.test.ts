import { PLACEHOLDER_SECRET } from '@airlock/schema/plan';
import { describe, expect, it } from 'vitest';
import {
  BODY_SCAN_BYTES,
  carriesValue,
  type Destination,
  encodedForms,
  LeakTripwire,
  MIN_SECRET_LENGTH,
} from './leak-tripwire.ts';

// The tripwire's rules and encodings, as a pure function of (known secrets,
// request parts, destination). The gateway and sandboxd around it are
// exercised in local-dev/e2e/adversarial/leak-tripwire.attack.test.ts.

const KEY_A = 'sk-a-3f9c2e1b7d4a6c8e0f1a';
const KEY_B = 'kb+Zx/9q8w7e6r5t4y3u==';
const tripwire = new LeakTripwire([
  { value: PLACEHOLDER_SECRET, connections: null },
  { value: KEY_A, connections: ['con_a'] },
  { value: KEY_B, connections: ['con_b', 'con_b2'] },
]);
const PASSTHROUGH: Destination = { kind: 'passthrough' };
const DENIED: Destination = { kind: 'denied' };
const ROUTE_A: Destination = { kind: 'brokered', connectionId: 'con_a' };
const ROUTE_B: Destination = { kind: 'brokered', connectionId: 'con_b' };

const head = (headers: [string, string][], path = '/', authority = 'host.example.com') => ({
  authority,
  path,
  headers,
});
const bytes = (text: string | Uint8Array) =>
  typeof text === 'string' ? new TextEncoder().encode(text) : text;
/** Base64 of the UTF-8 bytes of `text` (workerd has btoa, not Buffer). */
function b64(text: string | Uint8Array, alphabet: 'base64' | 'base64url' = 'base64'): string {
  let binary = '';
  for (const byte of bytes(text)) binary += String.fromCharCode(byte);
  const std = btoa(binary);
  return alphabet === 'base64' ? std : std.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
}

describe('where a secret may go', () => {
  it('lets the placeholder reach any brokered route, and no other host', () => {
    const request = head([['x-note', `key ${PLACEHOLDER_SECRET}`]]);
    expect(tripwire.inspectHead(request, ROUTE_A)).toBeNull();
    expect(tripwire.inspectHead(request, ROUTE_B)).toBeNull();
    for (const to of [PASSTHROUGH, DENIED])
      expect(tripwire.inspectHead(request, to)).toEqual({
        leak: 'placeholder',
        connectionId: null,
        where: 'header',
        header: 'x-note',
        form: 'raw',
      });
  });

  it('does not flag the placeholder in an auth header to a denied host (agent CLIs do that)', () => {
    for (const [name, value] of [
      ['Authorization', `Bearer ${PLACEHOLDER_SECRET}`],
      ['authorization', `Basic ${b64(`x-access-token:${PLACEHOLDER_SECRET}`)}`],
      ['x-api-key', PLACEHOLDER_SECRET],
    ] as const) {
      expect(tripwire.inspectHead(head([[name, value]]), DENIED), name).toBeNull();
      // An allowlisted host would receive it: there it is a leak.
      expect(tripwire.inspectHead(head([[name, value]]), PASSTHROUGH), name).toMatchObject({
        leak: 'placeholder',
      });
    }
    // A real key in an auth header is a leak wherever it is not its route.
    expect(tripwire.inspectHead(head([['authorization', `Bearer ${KEY_A}`]]), DENIED)).toMatchObject({
      connectionId: 'con_a',
    });
  });

  it("lets a real key reach its own connection's routes only", () => {
    const request = head([['x-note', KEY_A]]);
    expect(tripwire.inspectHead(request, ROUTE_A)).toBeNull();
    for (const to of [ROUTE_B, PASSTHROUGH, DENIED])
      expect(tripwire.inspectHead(request, to)).toMatchObject({ leak: 'credential', connectionId: 'con_a' });
    // A value shared by two connections belongs on the routes of both.
    const shared = head([['x-note', KEY_B]]);
    expect(tripwire.inspectHead(shared, { kind: 'brokered', connectionId: 'con_b2' })).toBeNull();
    expect(tripwire.inspectHead(shared, ROUTE_A)).toMatchObject({ connectionId: 'con_b' });
  });

  it('finds nothing in a clean request, and nothing when no secret applies', () => {
    const request = head([['accept', 'application/json']], '/v1/models?limit=10');
    expect(tripwire.inspectHead(request, PASSTHROUGH)).toBeNull();
    expect(tripwire.inspectBody(bytes('{"model":"gpt"}'), PASSTHROUGH)).toBeNull();
    expect(new LeakTripwire([]).inspectHead(head([['x', KEY_A]]), DENIED)).toBeNull();
  });
});

describe('where in the request', () => {
  it('looks at the authority, the path, the query, and header names as well as values', () => {
    expect(tripwire.inspectHead(head([], '/', `${KEY_A}.evil.example`), DENIED)).toMatchObject({
      where: 'authority',
    });
    expect(tripwire.inspectHead(head([], `/collect/${KEY_A}`), DENIED)).toMatchObject({ where: 'path' });
    expect(tripwire.inspectHead(head([], `/collect?k=${KEY_A}`), DENIED)).toMatchObject({ where: 'query' });
    // A secret in a header's name: the name is not recorded.
    expect(tripwire.inspectHead(head([[`x-${KEY_A}`, '1']]), DENIED)).toMatchObject({
      where: 'header',
      header: null,
    });
    // Header names arrive lowercased.
    expect(tripwire.inspectHead(head([[`x-${KEY_B.toLowerCase()}`, '1']]), DENIED)).toMatchObject({
      where: 'header',
      header: null,
      connectionId: 'con_b',
    });
  });

  it('does not record a header name that shares a run of characters with a secret', () => {
    const half = KEY_A.slice(0, 10);
    expect(tripwire.inspectHead(head([[half, KEY_A]]), DENIED)).toMatchObject({ header: null });
    expect(tripwire.inspectHead(head([['X-Api-Key', KEY_A]]), DENIED)).toMatchObject({
      header: 'x-api-key',
    });
  });

  it('reports the byte offset in the body, and looks no further than the first 64 KiB', () => {
    const filler = 'a'.repeat(40_000);
    expect(tripwire.inspectBody(bytes(`${filler}${KEY_A}`), PASSTHROUGH)).toMatchObject({
      where: 'body',
      offset: 40_000,
      form: 'raw',
    });
    const late = bytes(`${'a'.repeat(BODY_SCAN_BYTES)}${KEY_A}`);
    expect(tripwire.inspectBody(late, PASSTHROUGH)).toBeNull();
    // Binary bodies: bytes around the value are not text, the value is still found.
    const binary = new Uint8Array([0xff, 0x00, 0x80, ...bytes(KEY_B), 0xfe]);
    expect(tripwire.inspectBody(binary, PASSTHROUGH)).toMatchObject({ offset: 3, connectionId: 'con_b' });
  });
});

describe('encodings', () => {
  it('finds a percent-encoded value, partly or fully encoded, in either case', () => {
    const full = [...bytes(KEY_A)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    for (const query of [`q=${encodeURIComponent(KEY_B)}`, `q=${full}`, `q=${full.toUpperCase()}`])
      expect(tripwire.inspectHead(head([], `/x?${query}`), PASSTHROUGH)).toMatchObject({
        where: 'query',
        form: 'url-encoded',
      });
    const body = `a=1&token=${encodeURIComponent(KEY_B)}`;
    expect(tripwire.inspectBody(bytes(body), PASSTHROUGH)).toMatchObject({ offset: 10, form: 'url-encoded' });
  });

  it('finds base64 at all three alignments inside a longer base64 string, in both alphabets', () => {
    for (const value of [KEY_A, KEY_B, PLACEHOLDER_SECRET])
      for (const prefix of ['', 'u', 'us', 'use', 'user:', 'longer prefix '])
        for (const alphabet of ['base64', 'base64url'] as const) {
          const blob = `{"blob":"${b64(`${prefix}${value}!trailing`, alphabet)}"}`;
          const found = tripwire.inspectBody(bytes(blob), DENIED);
          expect(found, `${value} after ${JSON.stringify(prefix)} in ${alphabet}`).not.toBeNull();
          expect(found?.form).toMatch(/^base64/);
        }
  });

  it('finds base64 that was then percent-encoded, and Basic credentials in a header', () => {
    const encoded = [...b64(`x-access-token:${KEY_B}`)]
      .map((c) => `%${c.charCodeAt(0).toString(16)}`)
      .join('');
    expect(tripwire.inspectHead(head([], `/cb?auth=${encoded}`), PASSTHROUGH)).toMatchObject({
      form: expect.stringMatching(/^url-encoded base64/),
    });
    const basic = head([['authorization', `Basic ${b64(`x-access-token:${KEY_A}`)}`]]);
    expect(tripwire.inspectHead(basic, ROUTE_B)).toMatchObject({ connectionId: 'con_a', form: 'base64' });
  });

  it('derives only forms that do not depend on the surrounding bytes', () => {
    const forms = encodedForms(PLACEHOLDER_SECRET, MIN_SECRET_LENGTH);
    expect(forms[0]).toEqual({ text: PLACEHOLDER_SECRET, form: 'raw' });
    for (const { text, form } of forms.slice(1)) {
      expect(text.length).toBeGreaterThanOrEqual(MIN_SECRET_LENGTH);
      expect(text).toMatch(form === 'base64' ? /^[A-Za-z0-9+/]+$/ : /^[A-Za-z0-9_-]+$/);
    }
    // At each alignment, different surroundings leave the same forms in the encoding.
    for (const pad of [0, 1, 2]) {
      const found = (before: string, after: string) =>
        forms
          .slice(1)
          .filter((f) =>
            b64(
              `${before.repeat(pad)}${PLACEHOLDER_SECRET}${after}`,
              f.form === 'raw' ? 'base64' : f.form,
            ).includes(f.text),
          )
          .map((f) => f.text);
      expect(found('a', '')).not.toEqual([]);
      expect(found('a', '')).toEqual(found('Z', '~~~'));
    }
  });
});

describe('false positives', () => {
  it('ignores values shorter than the minimum length', () => {
    const short = new LeakTripwire([{ value: 'hunter2', connections: ['con_s'] }]);
    expect(short.inspectHead(head([['x', 'hunter2']]), PASSTHROUGH)).toBeNull();
    expect(MIN_SECRET_LENGTH).toBeGreaterThanOrEqual(12);
  });

  it('does not fire on text that merely resembles the placeholder', () => {
    for (const text of ['airlock', 'brokered', 'airlock brokered', 'Airlock-Brokered', 'airlock-broker'])
      expect(tripwire.inspectBody(bytes(text), PASSTHROUGH), text).toBeNull();
  });

  it('does not fire on ordinary base64 or percent-encoded content', () => {
    const random = crypto.getRandomValues(new Uint8Array(48 * 1024));
    const body = `${b64(random)}&q=${encodeURIComponent('a b/c?d')}`;
    expect(tripwire.inspectBody(bytes(body), PASSTHROUGH)).toBeNull();
  });
});

describe('response headers', () => {
  it('recognises the injected value raw, percent-encoded and base64 (minimum 8 characters)', () => {
    const token = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
    expect(carriesValue(`https://x.example/cb?t=${token}`, token, 8)).toBe(true);
    expect(carriesValue(`https://x.example/cb?t=${encodeURIComponent(`Bearer ${token}`)}`, token, 8)).toBe(
      true,
    );
    expect(carriesValue(`a=${b64(`user:${token}`)}; Path=/`, token, 8)).toBe(true);
    expect(carriesValue(`a=${encodeURIComponent(b64(`us:${token}`))}`, token, 8)).toBe(true);
    expect(carriesValue('https://x.example/landing', token, 8)).toBe(false);
    expect(carriesValue('short', 'short', 8)).toBe(false);
  });
});
