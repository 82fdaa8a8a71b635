// The one grammar for a host and port (ADR 0105). Everything that names where
// a request goes — a CONNECT target, a Host header, an absolute-form URI, a
// TLS server name, an allowlist entry, a route host — is parsed with it, once,
// and only the parsed value is matched and dialled. The Rust twin is
// sandboxd/src/authority.rs; both must pass schema/plan/vectors/authority.json.
//
//   authority = host [ ":" port ]
//   host      = name | ipv4 | "[" ipv6 "]"
//   name      = label *( "." label ) [ "." ]    labels 1–63 of [a-z0-9-], no "-" at either end,
//                                                ≤ 253 in all; ASCII upper case is lowered; the
//                                                trailing dot is dropped; the last label is not numeric
//   ipv4      = four decimal octets 0–255 without leading zeros (nothing else that looks numeric:
//               `127.1`, `0x7f.0.0.1`, `2130706433`, `010.0.0.1` are refused, not reinterpreted)
//   ipv6      = RFC 4291 hex groups (no zone id, no dotted IPv4 tail, not IPv4-mapped), printed RFC 5952
//   port      = 1–65535, decimal, no leading zero
//
// Anything else — `#`, `/`, `?`, `\`, `@`, `%`, `_`, spaces, control or non-ASCII characters —
// is refused. URL parsers (WHATWG, RFC 3986) are deliberately lenient about all of these; that
// leniency, read one way by a matcher and another by the dialler, is what this grammar removes.

export const AuthorityErrorCode = {
  EMPTY: 'EMPTY',
  BAD_CHAR: 'BAD_CHAR',
  TOO_LONG: 'TOO_LONG',
  BAD_PORT: 'BAD_PORT',
  BAD_LABEL: 'BAD_LABEL',
  BAD_IPV4: 'BAD_IPV4',
  BAD_IPV6: 'BAD_IPV6',
} as const;
export type AuthorityErrorCode = (typeof AuthorityErrorCode)[keyof typeof AuthorityErrorCode];

export type AuthorityKind = 'name' | 'ipv4' | 'ipv6';

export interface Authority {
  /** Canonical: a lowercase name without trailing dot, a dotted quad, or `[ipv6]` (RFC 5952). */
  readonly host: string;
  /** The port as written, or null when none was. */
  readonly port: number | null;
  readonly kind: AuthorityKind;
}

export type AuthorityResult =
  | { readonly ok: true; readonly authority: Authority }
  | { readonly ok: false; readonly code: AuthorityErrorCode; readonly message: string };

/** `[` + 39 + `]` is the longest IPv6 host; a 253-character name + `.` + `:65535` the longest input. */
const MAX_INPUT = 260;
const ALLOWED = /^[A-Za-z0-9.:[\]-]*$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/;

export const DEFAULT_PORT = { http: 80, https: 443 } as const;

const fail = (code: AuthorityErrorCode, message: string): AuthorityResult => ({ ok: false, code, message });

/** An untrusted string made safe to quote in a message or an audit detail: printable ASCII, bounded. */
export function quoteUntrusted(value: string, max = 120): string {
  let out = '';
  for (const ch of value.slice(0, max)) {
    const code = ch.codePointAt(0) ?? 0;
    out +=
      code >= 0x20 && code < 0x7f && ch !== '"' && ch !== '\\'
        ? ch
        : code <= 0xff
          ? `\\x${code.toString(16).padStart(2, '0')}`
          : `\\u{${code.toString(16)}}`;
  }
  return `"${out}${value.length > max ? '…' : ''}"`;
}

function firstBadChar(input: string): string {
  if (ALLOWED.test(input)) return '';
  for (const ch of input) if (!ALLOWED.test(ch)) return ch;
  return '';
}

function parseIpv6(text: string): { ok: true; host: string } | { ok: false; message: string } {
  const bad = (message: string) => ({ ok: false as const, message });
  if (text.includes('.')) return bad('a dotted IPv4 tail in an IPv6 address is not accepted');
  const lower = text.toLowerCase();
  const halves = lower.split('::');
  if (halves.length > 2) return bad('"::" may appear once');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const all = [...head, ...tail];
  if (!all.every((g) => HEX_GROUP.test(g))) return bad('each group is 1–4 hex digits');
  if (halves.length === 2 ? all.length > 7 : all.length !== 8) return bad('an IPv6 address has 8 groups');
  const values = [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...Array<number>(8 - all.length).fill(0),
    ...tail.map((g) => Number.parseInt(g, 16)),
  ];
  if (values.slice(0, 5).every((v) => v === 0) && values[5] === 0xffff)
    return bad('an IPv4-mapped address: write the IPv4 address');
  // RFC 5952: the longest run (≥ 2) of zero groups, the first of equals, becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (values[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && values[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (vs: number[]) => vs.map((v) => v.toString(16)).join(':');
  const host =
    best === -1 ? hex(values) : `${hex(values.slice(0, best))}::${hex(values.slice(best + bestLength))}`;
  return { ok: true, host: `[${host}]` };
}

function parseNameOrIpv4(text: string): AuthorityResult {
  if (text === '') return fail('EMPTY', 'the host is empty');
  const lower = text.toLowerCase();
  const name = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  const labels = name.split('.');
  for (const label of labels) {
    if (label === '')
      return fail('BAD_LABEL', 'a host name has an empty label (leading, trailing or double dot)');
    if (label.length > 63) return fail('BAD_LABEL', 'a host name label is longer than 63 characters');
    if (!LABEL.test(label)) return fail('BAD_LABEL', 'a host name label starts or ends with "-"');
  }
  if (name.length > 253) return fail('TOO_LONG', 'the host name is longer than 253 characters');
  const last = labels[labels.length - 1] ?? '';
  // What a WHATWG URL parser would read as an IPv4 address must be one, written canonically.
  if (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/.test(last)) {
    const canonical = labels.length === 4 && labels.every((l) => OCTET.test(l) && Number(l) <= 255);
    if (!canonical)
      return fail(
        'BAD_IPV4',
        'a numeric host must be a dotted-quad IPv4 address (four decimal octets 0–255)',
      );
    return { ok: true, authority: { host: name, port: null, kind: 'ipv4' } };
  }
  return { ok: true, authority: { host: name, port: null, kind: 'name' } };
}

export function parseAuthority(input: string): AuthorityResult {
  if (input === '') return fail('EMPTY', 'the authority is empty');
  const bad = firstBadChar(input);
  if (bad !== '') return fail('BAD_CHAR', `${quoteUntrusted(bad)} is not allowed in a host or port`);
  if (input.length > MAX_INPUT)
    return fail('TOO_LONG', `the authority is longer than ${MAX_INPUT} characters`);
  let hostText: string;
  let portText: string | undefined;
  const bracketed = input.startsWith('[');
  if (bracketed) {
    const close = input.indexOf(']');
    if (close === -1) return fail('BAD_IPV6', 'an IPv6 address is missing its "]"');
    hostText = input.slice(1, close);
    const rest = input.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':'))
      return fail('BAD_IPV6', 'only ":port" may follow an IPv6 address');
    if (rest !== '') portText = rest.slice(1);
  } else {
    if (input.includes('[') || input.includes(']'))
      return fail('BAD_CHAR', '"[" or "]" outside an IPv6 address');
    const parts = input.split(':');
    if (parts.length > 2) return fail('BAD_IPV6', 'an IPv6 address must be in brackets');
    hostText = parts[0] ?? '';
    portText = parts[1];
  }
  let port: number | null = null;
  if (portText !== undefined) {
    if (!PORT.test(portText) || Number(portText) > 65535)
      return fail('BAD_PORT', 'the port must be a number 1–65535 without leading zeros');
    port = Number(portText);
  }
  if (bracketed) {
    const ip = parseIpv6(hostText);
    if (!ip.ok) return fail('BAD_IPV6', ip.message);
    return { ok: true, authority: { host: ip.host, port, kind: 'ipv6' } };
  }
  const host = parseNameOrIpv4(hostText);
  return host.ok ? { ok: true, authority: { ...host.authority, port } } : host;
}

/** `host` or `host:port`, the form every parsed authority prints as. */
export function formatAuthority(authority: { readonly host: string; readonly port: number | null }): string {
  return authority.port === null ? authority.host : `${authority.host}:${authority.port}`;
}

/**
 * Matched only by a pattern that names it exactly, never by a wildcard: IP literals, and
 * `localhost` with its subdomains (RFC 6761: they resolve to loopback).
 */
export function exactOnly(authority: Authority): boolean {
  return authority.kind !== 'name' || authority.host === 'localhost' || authority.host.endsWith('.localhost');
}

/** Never a destination: 0.0.0.0/8 ("this network", which Linux dials as loopback) and `[::]`. */
export function unspecified(authority: Authority): boolean {
  return (authority.kind === 'ipv4' && authority.host.startsWith('0.')) || authority.host === '[::]';
}
