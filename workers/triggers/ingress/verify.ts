import { verify as verifyGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';

// Signature checks, one per sender, each over the raw body exactly as it
// arrived and in constant time:
// - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
//   (@octokit/webhooks-methods, WebCrypto `verify`).
// - Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" ts ":" body)>`
//   with `X-Slack-Request-Timestamp` at most 5 minutes off (no maintained
//   Worker-ready library exists; the check is WebCrypto's constant-time
//   `verify`, ADR 0140).
// - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`
//   `v1,<base64>`; the `standardwebhooks` package), 5 minutes of tolerance.
// Several secrets may be live at once (the previous one during a rotation's
// grace period): any may match. Outcomes are values; nothing here throws for
// bad input.

export type SignatureScheme = 'github' | 'slack' | 'standard';

export type Verdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'missing' | 'malformed' | 'stale' | 'mismatch';
      readonly detail: string;
    };

/** Requests older (or newer) than this are refused as replays. */
export const REPLAY_WINDOW_SECONDS = 5 * 60;

const encoder = new TextEncoder();

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function hmacVerify(secret: string, signed: string, signatureHex: string): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  return crypto.subtle.verify('HMAC', key, hexBytes(signatureHex), encoder.encode(signed));
}

const fail = (reason: 'missing' | 'malformed' | 'stale' | 'mismatch', detail: string): Verdict => ({
  ok: false,
  reason,
  detail,
});

function timestampProblem(seconds: number, nowMs: number): Verdict | null {
  const skew = Math.abs(Math.floor(nowMs / 1000) - seconds);
  return skew > REPLAY_WINDOW_SECONDS
    ? fail('stale', `the timestamp is ${skew} s away from now (at most ${REPLAY_WINDOW_SECONDS} s)`)
    : null;
}

async function github(headers: Headers, body: string, secrets: readonly string[]): Promise<Verdict> {
  const signature = headers.get('x-hub-signature-256');
  if (signature === null) return fail('missing', 'X-Hub-Signature-256 is missing');
  if (!/^sha256=[0-9a-f]{64}$/.test(signature))
    return fail('malformed', 'X-Hub-Signature-256 is not sha256=<64 hex digits>');
  for (const secret of secrets) if (await verifyGithub(secret, body, signature)) return { ok: true };
  return fail('mismatch', 'X-Hub-Signature-256 does not match the body');
}

async function slack(
  headers: Headers,
  body: string,
  secrets: readonly string[],
  nowMs: number,
): Promise<Verdict> {
  const signature = headers.get('x-slack-signature');
  const timestamp = headers.get('x-slack-request-timestamp');
  if (signature === null || timestamp === null)
    return fail('missing', 'X-Slack-Signature and X-Slack-Request-Timestamp are required');
  if (!/^v0=[0-9a-f]{64}$/.test(signature))
    return fail('malformed', 'X-Slack-Signature is not v0=<64 hex digits>');
  if (!/^\d{1,12}$/.test(timestamp)) return fail('malformed', 'X-Slack-Request-Timestamp is not a number');
  const stale = timestampProblem(Number(timestamp), nowMs);
  if (stale !== null) return stale;
  for (const secret of secrets)
    if (await hmacVerify(secret, `v0:${timestamp}:${body}`, signature.slice(3))) return { ok: true };
  return fail('mismatch', 'X-Slack-Signature does not match the body');
}

function standard(headers: Headers, body: string, secrets: readonly string[], nowMs: number): Verdict {
  const id = headers.get('webhook-id');
  const timestamp = headers.get('webhook-timestamp');
  const signature = headers.get('webhook-signature');
  if (id === null || timestamp === null || signature === null)
    return fail('missing', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,12}$/.test(timestamp)) return fail('malformed', 'webhook-timestamp is not a number');
  const stale = timestampProblem(Number(timestamp), nowMs);
  if (stale !== null) return stale;
  const plain = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, plain, { jsonParse: false });
      return { ok: true };
    } catch {
      // WebhookVerificationError (no match), or a secret that is not base64: try the next one.
    }
  }
  return fail('mismatch', 'webhook-signature has no signature matching the body');
}

export async function verifySignature(
  scheme: SignatureScheme,
  headers: Headers,
  body: string,
  secrets: readonly string[],
  nowMs: number,
): Promise<Verdict> {
  if (secrets.length === 0) return fail('mismatch', 'the trigger has no signing secret');
  switch (scheme) {
    case 'github':
      return github(headers, body, secrets);
    case 'slack':
      return slack(headers, body, secrets, nowMs);
    case 'standard':
      return standard(headers, body, secrets, nowMs);
  }
}

/**
 * The same work as a real verification, for a trigger that does not exist: an
 * unknown id must answer in the time a known one does.
 */
export async function verifyNothing(body: string): Promise<void> {
  const decoy = crypto.getRandomValues(new Uint8Array(32));
  const hex = [...decoy].map((b) => b.toString(16).padStart(2, '0')).join('');
  await hmacVerify(hex, body, hex);
}

/** Standard Webhooks signature for a body we send (result callbacks), with the trigger's secret. */
export function signStandard(secret: string, id: string, at: Date, body: string): string {
  return new Webhook(secret).sign(id, at, body);
}
