import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactOnly, formatAuthority, parseAuthority, quoteUntrusted, unspecified } from './authority.ts';

// The authority grammar against the vectors sandboxd's parser also passes
// (sandboxd/tests/authority_vectors.rs), then properties no vector list covers.

interface Vectors {
  valid: { name: string; input: string; host: string; port: number | null; kind: string }[];
  invalid: { name: string; input: string; code: string }[];
}
const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, 'vectors/authority.json'), 'utf8'),
) as Vectors;

describe('authority vectors', () => {
  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts %s', (_name, v) => {
    const parsed = parseAuthority(v.input);
    expect(parsed).toEqual({ ok: true, authority: { host: v.host, port: v.port, kind: v.kind } });
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('refuses %s', (_name, v) => {
    const parsed = parseAuthority(v.input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.code).toBe(v.code);
  });
});

const URL_SPECIAL = [
  '#',
  '/',
  '?',
  '\\',
  '@',
  '%',
  ' ',
  '\t',
  '\n',
  '\u0000',
  '_',
  '\u00e9',
  '\uff0e',
  ':',
  '.',
  '[',
  ']',
];
const piece = fc.oneof(
  fc.constantFrom(
    'a',
    'x',
    'pkgs',
    'example',
    'org',
    '127',
    '0',
    '1',
    '0x7f',
    '9999',
    '443',
    '-',
    'localhost',
  ),
  fc.constantFrom(...URL_SPECIAL),
  fc.string({ maxLength: 3 }),
);
const hostile = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(''));

describe('authority properties', () => {
  it('a parsed authority prints to a form that parses to itself (canonical, idempotent)', () => {
    fc.assert(
      fc.property(hostile, (input) => {
        const first = parseAuthority(input);
        if (!first.ok) return;
        const again = parseAuthority(formatAuthority(first.authority));
        expect(again).toEqual(first);
      }),
      { numRuns: 5000 },
    );
  });

  it('whatever it accepts, a WHATWG URL reads the same host and port (no parser differential)', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom('http', 'https'), (input, scheme) => {
        const parsed = parseAuthority(input);
        if (!parsed.ok) return;
        const { host, port } = parsed.authority;
        const url = new URL(`${scheme}://${formatAuthority(parsed.authority)}/`);
        expect(url.hostname).toBe(host);
        const defaultPort = scheme === 'https' ? 443 : 80;
        expect(url.port === '' ? defaultPort : Number(url.port)).toBe(port ?? defaultPort);
        expect(url.username + url.password + url.hash + url.search).toBe('');
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts only the grammar’s characters, and never anything a URL parser ends a host at', () => {
    fc.assert(
      fc.property(hostile, (input) => {
        const parsed = parseAuthority(input);
        if (parsed.ok) expect(input).toMatch(/^[A-Za-z0-9.:[\]-]+$/);
      }),
      { numRuns: 5000 },
    );
  });

  it('classes IP literals and localhost names as exact-only, 0.0.0.0/8 and [::] as unspecified', () => {
    const of = (s: string) => {
      const p = parseAuthority(s);
      if (!p.ok) throw new Error(s);
      return p.authority;
    };
    for (const s of ['127.0.0.1', '[::1]', 'localhost', 'A.LocalHost.', '169.254.169.254', '[fe80::1]'])
      expect(exactOnly(of(s)), s).toBe(true);
    for (const s of ['api.example.com', 'localhost.example.com', 'notlocalhost'])
      expect(exactOnly(of(s)), s).toBe(false);
    for (const s of ['0.0.0.0', '0.1.2.3', '[::]', '[0:0::0]']) expect(unspecified(of(s)), s).toBe(true);
    for (const s of ['10.0.0.0', '[::1]', 'zero.example']) expect(unspecified(of(s)), s).toBe(false);
  });

  it('quotes untrusted text as printable ASCII, bounded', () => {
    expect(quoteUntrusted('a\u0000b"\\\u00e9\u{1f600}')).toBe('"a\\x00b\\x22\\x5c\\xe9\\u{1f600}"');
    expect(quoteUntrusted('x'.repeat(200), 10)).toBe(`"${'x'.repeat(10)}…"`);
  });
});
