import type { CredentialResult } from '@airlock/schema/gateway';
import type { EgressRoute } from '@airlock/schema/plan';
import { CloseCode, type HeaderList, type JsonObject } from '@airlock/schema/tunnel';
import { z } from 'zod';
import type { AuditInput } from './audit-outbox.ts';
import { pumpBody } from './body-pump.ts';
import { allowlistEntry, denyMessage } from './deny.ts';
import { brokeredHead, passthroughHead, responseHeaders, type UpstreamHead } from './inject.ts';
import { leakDetail, leakMessage } from './leak-guard.ts';
import type { Destination, LeakFinding, LeakTripwire } from './leak-tripwire.ts';
import type { GatewayLog } from './log.ts';
import { RequestBody } from './request-body.ts';
import { dialledAuthority, type RequestAuthority, requestTarget } from './request-target.ts';
import type { MatchResult, RouteMatcher } from './route-matcher.ts';
import { StreamClosedError, type TunnelStream } from './stream.ts';
import type { TunnelBudget } from './tunnel-budget.ts';
import { bridgeWebSocket } from './ws-bridge.ts';

// One `http` stream (PROTOCOL.md §5.3) = one mediated request:
// parse the authority once (request-target.ts) → match → leak check →
// (brokered: resolve the credential, strip the sandbox's, place ours) → forward
// to the pinned upstream → stream the response back → audit. An authority
// outside the grammar, or a CONNECT target, server name and Host that disagree,
// is answered 400; anything that matches no route and no passthrough host 403,
// and so is a request carrying a secret to where it does not belong (ADR 0125).

const HttpMeta = z.object({
  method: z.string().regex(/^[A-Z]{1,16}$/),
  scheme: z.enum(['http', 'https']),
  /** Checked by requestTarget(): a bad one is a refused (and audited) request, not a bad stream. */
  authority: z.unknown().optional(),
  path: z.string().max(16 * 1024),
  headers: z.array(z.tuple([z.string(), z.string()])).max(500),
});
type HttpMeta = z.infer<typeof HttpMeta>;

export interface EgressContext {
  readonly log: GatewayLog;
  now(): number;
  orgId(): string | null;
  matcher(): RouteMatcher | null;
  credential(orgId: string, route: EgressRoute): Promise<CredentialResult>;
  /** The leak tripwire over every secret this gateway knows. */
  tripwire(orgId: string | null): Promise<LeakTripwire>;
  /** A leak was blocked; true when the session will be stopped for it. */
  leakBlocked(): boolean;
  audit(input: AuditInput): void;
  touch(): void;
  done(stream: TunnelStream): void;
  /** What the sandbox may make the gateway hold (ADR 0115). */
  limits(): { readonly budget: TunnelBudget; readonly websocketMessageBytes: number };
}

interface Exchange {
  readonly meta: HttpMeta;
  readonly stream: TunnelStream;
  readonly body: RequestBody;
  readonly started: number;
  /** The parsed authority, or null when it was refused. */
  readonly authority: RequestAuthority | null;
  /** Path without the query, as matched and audited. */
  readonly path: string;
  readonly route: EgressRoute | null;
  readonly decision: 'brokered' | 'passthrough' | 'denied' | 'leak_blocked';
  /** The OPEN carried FIN: the request has no body at all. */
  readonly bodyless: boolean;
  responseBytes: number;
}

const NO_BODY_STATUS: ReadonlySet<number> = new Set([101, 204, 205, 304]);
const encoder = new TextEncoder();

function plainResponse(stream: TunnelStream, status: number, text: string, extra: HeaderList = []): number {
  const bytes = encoder.encode(text);
  stream.head(
    {
      status,
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(bytes.length)],
        ...extra,
      ],
    },
    false,
  );
  void stream.write(bytes, { fin: true }).catch(() => {});
  return bytes.length;
}

function normalisedPath(path: string): { pathname: string; originForm: string } {
  const url = new URL(path.startsWith('/') ? path : `/${path}`, 'http://gateway.invalid');
  return { pathname: url.pathname, originForm: `${url.pathname}${url.search}` };
}

function wantsWebSocket(headers: HeaderList): boolean {
  return headers.some(([n, v]) => n.toLowerCase() === 'upgrade' && v.toLowerCase().includes('websocket'));
}

function contentLength(headers: HeaderList): number | null {
  const value = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  return value !== undefined && /^\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : null;
}

export function serveHttp(ctx: EgressContext, stream: TunnelStream, rawMeta: JsonObject, fin: boolean): void {
  const parsed = HttpMeta.safeParse(rawMeta);
  if (!parsed.success) {
    stream.reset(CloseCode.REFUSED, 'malformed http request head');
    ctx.done(stream);
    return;
  }
  const meta = parsed.data;
  const body = new RequestBody(stream);
  stream.handler = {
    data: (bytes, _stderr, last) => body.push(bytes, last),
    trailers: () => body.end(),
    reset: (code, message) => body.fail(new StreamClosedError(code, message)),
  };
  if (fin) body.end();
  ctx.touch();
  void run(ctx, stream, meta, body, fin).finally(() => ctx.done(stream));
}

async function run(
  ctx: EgressContext,
  stream: TunnelStream,
  meta: HttpMeta,
  body: RequestBody,
  openFin: boolean,
): Promise<void> {
  const started = ctx.now();
  const { pathname, originForm } = normalisedPath(meta.path);
  const target = requestTarget(meta);
  const authority = target.ok ? target.authority : null;
  const orgId = ctx.orgId();
  const matcher = ctx.matcher();
  const result: MatchResult =
    authority === null || matcher === null
      ? { kind: 'deny', sameHost: [] }
      : matcher.match({ authority, path: pathname, method: meta.method });
  const decision =
    result.kind === 'route' ? 'brokered' : result.kind === 'passthrough' ? 'passthrough' : 'denied';
  const exchange: Exchange = {
    meta,
    stream,
    body,
    started,
    authority,
    path: pathname,
    route: result.kind === 'route' ? result.route : null,
    decision,
    bodyless: openFin || meta.method === 'GET' || meta.method === 'HEAD',
    responseBytes: 0,
  };
  if (!target.ok) {
    body.discard();
    const text = `Airlock refused ${meta.method} ${meta.scheme} request: ${target.message}.\n`;
    exchange.responseBytes = plainResponse(stream, 400, text, [['x-airlock-decision', 'denied']]);
    return finish(ctx, exchange, 400, { reason: 'bad_authority', ...target.detail });
  }
  const to: Destination =
    result.kind === 'route'
      ? { kind: 'brokered', connectionId: result.route.credential.connectionId }
      : { kind: result.kind === 'passthrough' ? 'passthrough' : 'denied' };
  const tripwire = await ctx.tripwire(orgId);
  const sent = {
    authority: `${target.authority.host}:${target.authority.port}`,
    path: meta.path,
    headers: meta.headers,
  };
  const leak = await tripwire.inspect(sent, exchange.bodyless ? null : (n) => body.prefix(n), to);
  if (leak !== null) return blockLeak(ctx, exchange, leak, to);
  if (result.kind === 'deny' || orgId === null || authority === null) {
    body.discard();
    const text = denyMessage({
      method: meta.method,
      scheme: meta.scheme,
      authority: target.authority,
      path: pathname,
      hasPlan: matcher !== null,
      sameHost: result.kind === 'deny' ? result.sameHost : [],
    });
    exchange.responseBytes = plainResponse(stream, 403, text, [['x-airlock-decision', 'denied']]);
    return finish(ctx, exchange, 403, { reason: matcher === null ? 'no_plan' : 'no_route' });
  }
  let head: UpstreamHead;
  let credential: string | null = null;
  if (result.kind === 'route') {
    const resolved = await ctx.credential(orgId, result.route);
    if (!resolved.ok) {
      body.discard();
      const text =
        `Airlock could not obtain the credential for ${authority.host} ` +
        `(connection ${result.route.credential.connectionId}): ${resolved.code}: ${resolved.message}\n`;
      exchange.responseBytes = plainResponse(stream, 502, text, [['x-airlock-decision', 'brokered']]);
      return finish(ctx, exchange, 502, { error: resolved.code });
    }
    credential = resolved.value;
    head = brokeredHead(result.route, originForm, meta.headers, credential);
  } else {
    head = passthroughHead(meta.scheme, authority, originForm, meta.headers);
  }
  // What is dialled is exactly what was matched: the route's upstream, or the parsed authority.
  const pinned =
    result.kind === 'route' ? dialledAuthority(new URL(result.route.upstream.baseUrl)) : authority;
  const dialled = dialledAuthority(head.url);
  if (dialled.host !== pinned.host || dialled.port !== pinned.port) {
    body.discard();
    exchange.responseBytes = plainResponse(stream, 502, 'Airlock: the upstream URL left the matched host\n');
    return finish(ctx, exchange, 502, { error: 'upstream_not_pinned' });
  }
  if (wantsWebSocket(meta.headers)) {
    const outcome = await bridgeWebSocket({
      stream,
      head,
      requestHeaders: meta.headers,
      credential,
      log: ctx.log,
      budget: ctx.limits().budget,
      messageBytes: ctx.limits().websocketMessageBytes,
    });
    exchange.responseBytes = outcome.bytesIn;
    return finish(ctx, exchange, outcome.status, { upgrade: 'websocket' }, outcome.bytesOut);
  }
  await forward(ctx, exchange, head, credential);
}

async function forward(
  ctx: EgressContext,
  ex: Exchange,
  head: UpstreamHead,
  credential: string | null,
): Promise<void> {
  const { meta, stream, body } = ex;
  const abort = new AbortController();
  stream.handler = {
    data: (bytes, _stderr, last) => body.push(bytes, last),
    trailers: () => body.end(),
    reset: (code, message) => {
      body.fail(new StreamClosedError(code, message));
      abort.abort();
    },
  };
  let requestBody: ReadableStream<Uint8Array> | null = null;
  // fetch() refuses a body on GET and HEAD; a stray one is consumed, not forwarded.
  if (ex.bodyless) body.discard();
  else {
    const length = contentLength(meta.headers);
    requestBody = body.readable();
    if (length !== null) {
      // A declared length is kept (some upstreams refuse chunked uploads).
      const fixed = new FixedLengthStream(length);
      void requestBody.pipeTo(fixed.writable).catch(() => {});
      requestBody = fixed.readable;
    }
  }
  let response: Response;
  try {
    response = await fetch(head.url, {
      method: meta.method,
      headers: head.headers,
      body: requestBody,
      redirect: 'manual',
      // Bytes pass through as the upstream encoded them (no transparent gunzip).
      encodeResponseBody: 'manual',
      signal: abort.signal,
    });
  } catch (error) {
    body.discard();
    if (stream.closed !== null) return finish(ctx, ex, 499, { error: 'client_cancelled' });
    const reason = error instanceof Error ? error.message : String(error);
    const safe = credential === null ? reason : reason.replaceAll(credential, '[credential]');
    ex.responseBytes = plainResponse(
      stream,
      502,
      `Airlock could not reach the upstream for ${ex.authority === null ? 'the request' : allowlistEntry(meta.scheme, ex.authority)}: ${safe.slice(0, 300)}\n`,
    );
    return finish(ctx, ex, 502, { error: 'upstream_unreachable' });
  }
  const noBody = meta.method === 'HEAD' || NO_BODY_STATUS.has(response.status) || response.body === null;
  stream.head({ status: response.status, headers: responseHeaders(response.headers, credential) }, noBody);
  if (noBody) {
    await response.body?.cancel().catch(() => {});
    return finish(ctx, ex, response.status, {});
  }
  try {
    const onSent = (bytes: number) => {
      ex.responseBytes += bytes;
    };
    await pumpBody(response.body as ReadableStream<Uint8Array>, stream, onSent, ctx.limits().budget);
    stream.finish();
    finish(ctx, ex, response.status, {});
  } catch (error) {
    abort.abort();
    const cancelled = error instanceof StreamClosedError;
    if (!cancelled) stream.reset(CloseCode.UPSTREAM_ERROR, 'the upstream response failed');
    finish(ctx, ex, response.status, { error: cancelled ? 'client_cancelled' : 'upstream_body_failed' });
  }
}

/** 403, nothing forwarded; audited without the value (nor the host or path, when they held it). */
function blockLeak(ctx: EgressContext, ex: Exchange, leak: LeakFinding, to: Destination): void {
  ex.body.discard();
  const text = leakMessage(leak, ex.authority?.host ?? 'this host', to, ctx.leakBlocked());
  const responseBytes = plainResponse(ex.stream, 403, text, [['x-airlock-decision', 'leak_blocked']]);
  const authority = leak.where === 'authority' ? null : ex.authority;
  const path = leak.where === 'path' ? '/(withheld)' : ex.path;
  const blocked = { ...ex, authority, path, decision: 'leak_blocked' as const, responseBytes };
  finish(ctx, blocked, 403, leakDetail(leak, to));
}

function finish(
  ctx: EgressContext,
  ex: Exchange,
  status: number,
  detail: Record<string, string | number>,
  bytesOut = ex.body.bytes,
): void {
  const route = ex.route;
  ctx.audit({
    action: 'egress.request',
    decision: ex.decision,
    routeId: route?.id ?? null,
    connectionId: route?.credential.connectionId ?? null,
    method: ex.meta.method,
    host: ex.authority?.host ?? null,
    path: ex.path,
    status,
    bytesIn: ex.responseBytes,
    bytesOut,
    durationMs: Math.max(0, ctx.now() - ex.started),
    detail: {
      ...(route === null ? {} : { integration: route.integration }),
      scheme: ex.meta.scheme,
      ...detail,
    },
  });
}
