import { z } from 'zod';
import type { Parsed, TriggerEvent } from '../event.ts';

// Any sender of Standard Webhooks: the body is a JSON object; its `type` (if it
// is an event name) names the event, and the whole object is the template's
// `payload`. The body is at most 1 MiB already; nesting is bounded here.

const EventName = z
  .string()
  .regex(/^[a-z_]+(\.[a-z_]+)?$/)
  .max(100);
const MAX_DEPTH = 32;

function depth(value: unknown, level = 0): number {
  if (level > MAX_DEPTH || value === null || typeof value !== 'object') return level;
  let deepest = level;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child, level + 1));
  return deepest;
}

export function parseGeneric(body: unknown): Parsed<TriggerEvent> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { ok: false, reason: 'the body must be a JSON object' };
  if (depth(body) > MAX_DEPTH) return { ok: false, reason: `the body nests deeper than ${MAX_DEPTH} levels` };
  const payload = body as Record<string, unknown>;
  const type = EventName.safeParse(payload.type);
  const name = type.success ? type.data : 'webhook';
  return {
    ok: true,
    value: {
      source: 'generic',
      name,
      summary: `${name} webhook`,
      repository: null,
      labels: [],
      addedLabel: null,
      branch: null,
      text: null,
      actor: null,
      fromBot: false,
      target: null,
      slack: null,
      vars: { payload },
    },
  };
}
