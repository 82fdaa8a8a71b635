import type { ChatConfig, WebhookConfig } from '@airlock/schema/api';
import { isId } from '@airlock/schema/ids';
import type { AppContext } from '../../lib/context.ts';
import { withDb } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { claimDelivery, deliveryIdHint, type NewDelivery, recordRejected } from '../deliveries.ts';
import type { TriggerEvent } from '../event.ts';
import { chatFilter, webhookFilter } from '../filters.ts';
import { type TriggerRow, verificationSecrets } from '../secrets.ts';
import { parseGeneric } from '../sources/generic.ts';
import { parseGithub } from '../sources/github.ts';
import { parseSlack } from '../sources/slack.ts';
import { acceptDelivery } from './accept.ts';
import { bodyJson, readBody } from './body.ts';
import { lookupTrigger } from './fast-path.ts';
import { type SignatureScheme, verifyNothing, verifySignature } from './verify.ts';

// POST /hooks/{triggerId}: public, answered fast, never waiting for a session.
// Size (413) → trigger (404, in the time a real one takes) → signature (401;
// the body is not kept) → JSON (400) → disabled (202, `ignored`) → parse and
// filter (202, `filtered`) → claim the sender's delivery id (202, `received`,
// or `deduped`) → the run's Workflow is created after the answer. Every
// request leaves one delivery row (rejections at most a few a minute each).

type Source = 'github' | 'slack' | 'generic';

interface Ingress {
  readonly source: Source;
  readonly scheme: SignatureScheme;
}

function ingressOf(trigger: TriggerRow): Ingress | null {
  if (trigger.kind === 'chat') return { source: 'slack', scheme: 'slack' };
  if (trigger.kind !== 'webhook') return null;
  const source = (trigger.config as { source?: unknown }).source;
  if (source === 'github') return { source, scheme: 'github' };
  if (source === 'slack') return { source, scheme: 'slack' };
  if (source === 'generic') return { source, scheme: 'standard' };
  return null;
}

/** Rejected requests leave at most this many rows per trigger per minute (the rest are counted only). */
const REJECTED_ROWS_PER_MINUTE = 20;

export const accepted = (body: Record<string, unknown>) =>
  new Response(JSON.stringify(body), { status: 202, headers: { 'content-type': 'application/json' } });

export async function receiveHook(c: AppContext): Promise<Response> {
  const scope = c.get('scope');
  const config = scope.config();
  const now = scope.now();
  const triggerId = c.req.param('triggerId') ?? '';
  const body = await readBody(c.req.raw, config.limits.max_request_body_bytes);
  if (!body.ok)
    throw new ProblemError('payload_too_large', `The request body is larger than ${body.max} bytes.`, {
      extensions: { maxBytes: body.max },
    });
  const db = scope.db();
  const trigger = await lookupTrigger(
    scope.kv(),
    () => db,
    isId('trigger', triggerId) ? triggerId : 'trg_unknown',
  );
  const ingress = trigger === null ? null : ingressOf(trigger);
  if (trigger === null || ingress === null) {
    await verifyNothing(body.text);
    throw new ProblemError('not_found', 'No such trigger.');
  }
  const headers = c.req.raw.headers;
  const secrets = await verificationSecrets(c.env, config, trigger, now);
  const verdict = secrets.ok
    ? await verifySignature(ingress.scheme, headers, body.text, secrets.secrets, now.getTime())
    : ({ ok: false, reason: 'mismatch', detail: secrets.reason } as const);
  const base = { triggerId: trigger.id, orgId: trigger.orgId, source: ingress.source, at: now } as const;
  if (!verdict.ok) {
    const hint = deliveryIdHint(headers.get('x-github-delivery') ?? headers.get('webhook-id'));
    // After the answer: a bad signature costs the caller what an unknown trigger does.
    c.executionCtx.waitUntil(
      recordRejection(c, { ...base, deliveryId: hint }, `bad signature: ${verdict.detail}`).catch(() => {}),
    );
    throw new ProblemError(
      'unauthenticated',
      verdict.reason === 'stale' ? `Stale request: ${verdict.detail}.` : `Bad signature: ${verdict.detail}.`,
    );
  }

  const json = body.text === '' ? undefined : bodyJson(body.text, headers.get('content-type'));
  if (json === undefined) {
    await claimDelivery(db, { ...base, deliveryId: null }, 'failed', 'malformed JSON');
    throw new ProblemError('bad_request', 'The body is not JSON.');
  }
  const parsed = parseFor(ingress.source, headers, json);
  if (parsed.kind === 'bad') {
    await claimDelivery(db, { ...base, deliveryId: parsed.deliveryId }, 'failed', parsed.reason);
    throw new ProblemError('bad_request', parsed.reason);
  }
  // Everything below claims the sender's delivery id: a repeat is recorded as deduped.
  const settle = async (input: NewDelivery, status: 'filtered' | 'ignored', reason: string) => {
    const { row } = await claimDelivery(db, input, status, reason);
    return accepted({ delivery: row.id, status: row.status, duplicateOf: row.duplicateOf });
  };
  if (parsed.kind === 'challenge') {
    await claimDelivery(
      db,
      { ...base, deliveryId: null, eventName: 'url_verification' },
      'filtered',
      'Slack url_verification answered',
    );
    return c.json({ challenge: parsed.challenge }, 200);
  }
  if (parsed.kind === 'unsupported')
    return settle(
      { ...base, deliveryId: parsed.deliveryId, eventName: parsed.name },
      'filtered',
      parsed.name === 'ping'
        ? 'ping: the webhook reaches this trigger'
        : `event ${parsed.name} is not supported`,
    );
  const input: NewDelivery = { ...base, deliveryId: parsed.deliveryId, event: parsed.event };
  if (!trigger.enabled) return settle(input, 'ignored', 'disabled');
  const verdictOf =
    trigger.kind === 'chat'
      ? chatFilter(trigger.config as ChatConfig, parsed.event)
      : webhookFilter(trigger.config as WebhookConfig, parsed.event);
  if (!verdictOf.pass) return settle(input, 'filtered', verdictOf.reason);
  return acceptDelivery(c, {
    ...input,
    source: ingress.source,
    deliveryId: parsed.deliveryId,
    event: parsed.event,
  });
}

type ParsedRequest =
  | { kind: 'event'; deliveryId: string; event: TriggerEvent }
  | { kind: 'challenge'; challenge: string }
  | { kind: 'unsupported'; deliveryId: string | null; name: string }
  | { kind: 'bad'; deliveryId: string | null; reason: string };

const GITHUB_DELIVERY = /^[A-Za-z0-9-]{1,100}$/;

function parseFor(source: Source, headers: Headers, json: unknown): ParsedRequest {
  switch (source) {
    case 'github': {
      const id = headers.get('x-github-delivery');
      const name = headers.get('x-github-event');
      if (id === null || !GITHUB_DELIVERY.test(id))
        return { kind: 'bad', deliveryId: null, reason: 'X-GitHub-Delivery is missing or malformed' };
      if (name === null || !/^[a-z_]{1,50}$/.test(name))
        return { kind: 'bad', deliveryId: id, reason: 'X-GitHub-Event is missing or malformed' };
      const result = parseGithub(name, json);
      if (result.ok === 'unsupported') return { kind: 'unsupported', deliveryId: id, name: result.name };
      return result.ok
        ? { kind: 'event', deliveryId: id, event: result.value }
        : { kind: 'bad', deliveryId: id, reason: result.reason };
    }
    case 'slack': {
      const result = parseSlack(json);
      if (!result.ok) return { kind: 'bad', deliveryId: null, reason: result.reason };
      const v = result.value;
      if (v.kind === 'url_verification') return { kind: 'challenge', challenge: v.challenge };
      if (v.kind === 'unsupported') return { kind: 'unsupported', deliveryId: v.eventId, name: v.name };
      return { kind: 'event', deliveryId: v.eventId, event: v.event };
    }
    case 'generic': {
      // webhook-id is covered by the signature (checked before this runs).
      const id = headers.get('webhook-id') ?? '';
      if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(id))
        return { kind: 'bad', deliveryId: null, reason: 'webhook-id is malformed' };
      const result = parseGeneric(json);
      return result.ok
        ? { kind: 'event', deliveryId: id, event: result.value }
        : { kind: 'bad', deliveryId: id, reason: result.reason };
    }
  }
}

async function recordRejection(c: AppContext, input: NewDelivery, reason: string): Promise<void> {
  const scope = c.get('scope');
  const kv = scope.kv();
  const minute = Math.floor(input.at.getTime() / 60_000);
  const key = kv.key('hooks', 'rejected', input.triggerId, String(minute));
  const [count] = (await kv.redis.pipeline().incr(key).expire(key, 120).exec()) as [number, number];
  if (count > REJECTED_ROWS_PER_MINUTE) return;
  // Its own pool: the request's is closed once the answer has gone.
  await withDb(scope.config(), (db) => recordRejected(db, input, reason));
}
