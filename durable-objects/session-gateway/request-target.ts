import {
  type Authority,
  DEFAULT_PORT,
  formatAuthority,
  parseAuthority,
  quoteUntrusted,
} from '@airlock/schema/plan';
import type { HeaderList } from '@airlock/schema/tunnel';
import { z } from 'zod';

// Where an `http` stream wants to go (PROTOCOL.md §5.3, ADR 0105), decided
// once, here, from what sandboxd reports it saw: the CONNECT target (or the
// absolute-form URI), the TLS server name and the Host header. The gateway
// never trusts sandboxd (root in the sandbox can speak the tunnel protocol), so
// it parses every one of them itself with the one grammar and requires that
// they all name the same host and port. The result — name, effective port —
// is the only authority matched, audited and dialled downstream.

const Raw = z.string().max(1024);

/** `authority` of the http OPEN meta; unknown keys are ignored (PROTOCOL.md §2). */
const AuthorityMeta = z.object({
  /** sandboxd's own parse of the target; must equal ours. */
  host: z.string().max(300).nullable(),
  port: z.number().int().nullable(),
  seen: z.object({
    connect: Raw.optional(),
    uri: Raw.optional(),
    sni: Raw.optional(),
    host: Raw.optional(),
  }),
});

/** The authority a request goes to: parsed, with its effective port. */
export type RequestAuthority = Authority & { readonly port: number };

export type TargetResult =
  | { readonly ok: true; readonly authority: RequestAuthority }
  | { readonly ok: false; readonly message: string; readonly detail: Record<string, string> };

const refuse = (message: string, seen: Record<string, string | undefined> = {}): TargetResult => {
  const detail: Record<string, string> = {};
  for (const [key, value] of Object.entries(seen))
    if (value !== undefined) detail[`seen_${key}`] = quoteUntrusted(value);
  return { ok: false, message, detail };
};

/** Same host and port, a missing port meaning the scheme's default. */
function agrees(value: Authority, target: RequestAuthority, defaultPort: number): boolean {
  return value.host === target.host && (value.port ?? defaultPort) === target.port;
}

export interface TargetInput {
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** The meta's `authority` object, unchecked. */
  readonly authority?: unknown;
  /** The request headers: a `host` among them is one more value that must agree. */
  readonly headers: HeaderList;
}

export function requestTarget({ method, scheme, authority, headers }: TargetInput): TargetResult {
  if (typeof authority === 'string')
    return refuse(
      'the authority is a bare string, as a sandboxd older than ADR 0105 sends: rebuild the snapshot',
    );
  const meta = AuthorityMeta.safeParse(authority);
  if (!meta.success) return refuse('the request names no authority in the form PROTOCOL.md §5.3 requires');
  const { seen } = meta.data;
  if (method === 'CONNECT') return refuse('a CONNECT is answered by sandboxd and never forwarded', seen);
  const via = seen.connect !== undefined ? 'CONNECT target' : 'request-target';
  const primary = seen.connect ?? seen.uri;
  if (primary === undefined) return refuse('the request names no CONNECT target or absolute-form URI');
  const parsed = parseAuthority(primary);
  if (!parsed.ok)
    return refuse(`the ${via} ${quoteUntrusted(primary)} is not a host[:port]: ${parsed.message}`, seen);
  if (seen.connect !== undefined && parsed.authority.port === null)
    return refuse(`the CONNECT target ${quoteUntrusted(primary)} has no port`, seen);
  const defaultPort = DEFAULT_PORT[scheme];
  const target: RequestAuthority = { ...parsed.authority, port: parsed.authority.port ?? defaultPort };
  const shown = quoteUntrusted(formatAuthority(target));
  if (meta.data.host !== target.host || meta.data.port !== target.port)
    return refuse(`sandboxd reported a different authority than its ${via} ${shown}`, seen);
  if (seen.connect !== undefined && seen.uri !== undefined) {
    const uri = parseAuthority(seen.uri);
    if (!uri.ok || !agrees(uri.authority, target, defaultPort))
      return refuse(
        `the request URI ${quoteUntrusted(seen.uri)} does not match the CONNECT target ${shown}`,
        seen,
      );
  }
  if (seen.sni !== undefined) {
    // A server name is a name: no port, no IP literal (clients send none for those).
    const sni = parseAuthority(seen.sni);
    const same = sni.ok && sni.authority.kind === 'name' && sni.authority.port === null;
    if (seen.connect === undefined || scheme !== 'https' || !same || sni.authority.host !== target.host)
      return refuse(
        `the TLS server name ${quoteUntrusted(seen.sni)} does not match the ${via} ${shown}`,
        seen,
      );
  }
  const hosts = headers.filter(([name]) => name.toLowerCase() === 'host').map(([, value]) => value);
  for (const value of seen.host === undefined ? hosts : [seen.host, ...hosts]) {
    const host = parseAuthority(value);
    if (!host.ok || !agrees(host.authority, target, defaultPort))
      return refuse(`the Host header ${quoteUntrusted(value)} does not match the ${via} ${shown}`, seen);
  }
  return { ok: true, authority: target };
}

/** Host and port of a URL about to be dialled, in the grammar's form (`[v6]`, effective port). */
export function dialledAuthority(url: URL): { host: string; port: number } {
  const scheme = url.protocol === 'https:' || url.protocol === 'wss:' ? 'https' : 'http';
  return { host: url.hostname, port: url.port === '' ? DEFAULT_PORT[scheme] : Number(url.port) };
}
