import type { BrokerRpc } from '@airlock/schema/gateway';
import { CloseCode, type JsonObject } from '@airlock/schema/tunnel';
import { z } from 'zod';
import type { AuditInput } from './audit-outbox.ts';
import type { GatewayLog } from './log.ts';
import type { TunnelStream } from './stream.ts';

// `sign` streams (PROTOCOL.md §5.5): git in the sandbox asks for an SSH
// signature over a commit. The payload is hashed here as it streams in (SSHSIG
// signs SHA-512(message)), and only the digest goes to the broker, which holds
// the org's key. The signature is attributed to the human behind the session.

const SignMeta = z.object({
  namespace: z.string().min(1).max(64),
  format: z.literal('ssh'),
  publicKey: z.string().max(4096).optional(),
});

/** git commits and tags are small; anything bigger is not a commit. */
export const MAX_SIGN_PAYLOAD = 16 * 1024 * 1024;

export interface SignContext {
  readonly log: GatewayLog;
  now(): number;
  orgId(): string | null;
  broker(): BrokerRpc;
  audit(input: AuditInput): void;
  done(stream: TunnelStream): void;
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (comments do not identify a key). */
function keyBody(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

export function serveSign(ctx: SignContext, stream: TunnelStream, rawMeta: JsonObject, fin: boolean): void {
  const started = ctx.now();
  const parsed = SignMeta.safeParse(rawMeta);
  const orgId = ctx.orgId();
  if (!parsed.success || orgId === null) {
    stream.reset(CloseCode.REFUSED, parsed.success ? 'the session has no org yet' : 'malformed sign request');
    ctx.done(stream);
    return;
  }
  const meta = parsed.data;
  const digest = new crypto.DigestStream('SHA-512');
  const writer = digest.getWriter();
  let size = 0;
  let failed = false;
  let chain = Promise.resolve();
  const audit = (status: number, detail: Record<string, string>) =>
    ctx.audit({
      action: 'commit.signed',
      decision: status === 200 ? 'brokered' : 'denied',
      routeId: null,
      connectionId: null,
      method: null,
      host: null,
      path: null,
      status,
      bytesIn: 0,
      bytesOut: size,
      durationMs: Math.max(0, ctx.now() - started),
      detail: { namespace: meta.namespace, ...detail },
    });
  const complete = async () => {
    await chain;
    await writer.close();
    const hash = new Uint8Array(await digest.digest);
    const broker = ctx.broker();
    if (meta.publicKey !== undefined) {
      const key = await broker.signingKey(orgId);
      if (keyBody(key.publicKey) !== keyBody(meta.publicKey)) {
        stream.reset(
          CloseCode.DENIED,
          `this session signs with the org key ${keyBody(key.publicKey)}; set user.signingkey to it`,
        );
        return audit(403, { error: 'KEY_MISMATCH' });
      }
    }
    const result = await broker.sign({ orgId, namespace: meta.namespace, sha512: hash });
    if (!result.ok) {
      stream.reset(CloseCode.UPSTREAM_ERROR, `${result.code}: ${result.message}`);
      return audit(502, { error: result.code });
    }
    await stream.write(new TextEncoder().encode(result.signature), { fin: true });
    audit(200, { keyId: result.keyId });
  };
  stream.handler = {
    data: (bytes, _stderr, last) => {
      if (failed) return stream.consumed(bytes.length);
      size += bytes.length;
      if (size > MAX_SIGN_PAYLOAD) {
        failed = true;
        stream.reset(CloseCode.REFUSED, 'payload too large to be a commit');
        audit(413, { error: 'TOO_LARGE' });
        ctx.done(stream);
        return;
      }
      chain = chain.then(() => writer.write(bytes)).then(() => stream.consumed(bytes.length));
      if (last)
        void complete()
          .catch((error) => {
            ctx.log.error('signing failed', { error: String(error).slice(0, 200) });
            stream.reset(CloseCode.INTERNAL, 'signing failed');
          })
          .finally(() => ctx.done(stream));
    },
    reset: () => {
      failed = true;
      void writer.abort().catch(() => {});
      ctx.done(stream);
    },
  };
  if (fin) stream.handler.data(new Uint8Array(0), false, true);
}
