import type { BrokerRpc } from '@airlock/schema/gateway';
import { CloseCode, type JsonObject } from '@airlock/schema/tunnel';
import { z } from 'zod';
import type { AuditInput } from './audit-outbox.ts';
import type { GatewayLog } from './log.ts';
import {
  MAX_HEADER_BYTES,
  parseSignedObject,
  SIGN_NAMESPACE,
  type SignedObject,
  type SignRefusal,
} from './sign-policy.ts';
import type { TunnelStream } from './stream.ts';

// `sign` streams (PROTOCOL.md §5.5): git in the sandbox asks for an SSH
// signature over a commit or tag. The sandbox is untrusted (root in it can
// open any `sign` stream), so the policy is enforced here (sign-policy.ts, ADR
// 0120): a per-session rate, the `git` namespace only, and a payload that is a
// commit or tag object. The payload is hashed as it streams in (SSHSIG signs
// SHA-512(message)) while its first bytes are kept to check what it is; only
// the digest goes to the broker, which holds the org's key. Every attempt is
// audited and attributed to the human behind the session, by the object's
// summary (tree, parents; tag name), never its message.

const SignMeta = z.object({
  namespace: z.string().min(1).max(64),
  format: z.literal('ssh'),
  publicKey: z.string().max(4096).optional(),
});

/** git commits and tags are small; anything bigger is not a commit. */
export const MAX_SIGN_PAYLOAD = 16 * 1024 * 1024;

export type SignAdmission =
  | { readonly ok: true }
  | { readonly ok: false; readonly perMinute: number; readonly retryAfterSeconds: number };

export interface SignContext {
  readonly log: GatewayLog;
  now(): number;
  orgId(): string | null;
  broker(): BrokerRpc;
  audit(input: AuditInput): void;
  /** Count one signing attempt against the session's rate (limits.signatures_per_minute). */
  admit(): SignAdmission;
  done(stream: TunnelStream): void;
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (comments do not identify a key). */
function keyBody(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

const REFUSALS: Record<SignRefusal, string> = {
  NAMESPACE_NOT_ALLOWED: `only the SSH signature namespace "${SIGN_NAMESPACE}" is signed (git commits and tags)`,
  NOT_A_GIT_OBJECT:
    'only git commit and tag objects are signed (what `git commit -S` and `git tag -s` send); this payload is neither',
  RATE_LIMITED: 'commit signing is rate-limited',
};

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
  let size = 0;
  let failed = false;
  const audit = (status: number, detail: Record<string, string | number>) =>
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
  const refuse = (code: SignRefusal, message = REFUSALS[code]) => {
    failed = true;
    stream.reset(CloseCode.DENIED, `${code}: ${message}`);
    audit(403, { error: code });
    ctx.done(stream);
  };

  const admission = ctx.admit();
  if (!admission.ok) {
    refuse(
      'RATE_LIMITED',
      `commit signing is limited to ${admission.perMinute} signatures per minute per session (limits.signatures_per_minute); try again in ${admission.retryAfterSeconds} s`,
    );
    return;
  }
  if (meta.namespace !== SIGN_NAMESPACE) {
    refuse(
      'NAMESPACE_NOT_ALLOWED',
      `${REFUSALS.NAMESPACE_NOT_ALLOWED}, not ${JSON.stringify(meta.namespace)}`,
    );
    return;
  }

  const digest = new crypto.DigestStream('SHA-512');
  const writer = digest.getWriter();
  // The payload's first bytes, where a commit's or tag's headers are.
  const head = new Uint8Array(MAX_HEADER_BYTES);
  let kept = 0;
  let chain = Promise.resolve();
  const complete = async (object: SignedObject) => {
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
    audit(200, { keyId: result.keyId, ...object });
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
      const room = Math.min(bytes.length, MAX_HEADER_BYTES - kept);
      head.set(bytes.subarray(0, room), kept);
      kept += room;
      chain = chain.then(() => writer.write(bytes)).then(() => stream.consumed(bytes.length));
      if (!last) return;
      const object = parseSignedObject(head.subarray(0, kept));
      if (object === undefined) {
        // Let queued writes settle before dropping the digest: nothing is left dangling.
        void chain.then(() => writer.abort()).catch(() => {});
        return refuse('NOT_A_GIT_OBJECT');
      }
      void complete(object)
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
