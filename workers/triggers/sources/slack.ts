import { z } from 'zod';
import { clipped, issuesLine, type Parsed, SLACK_ID, SLACK_TS, type TriggerEvent } from '../event.ts';

// Slack Events API bodies: the one-time `url_verification` handshake, and
// `event_callback` envelopes around `app_mention` and `message` events (as in
// Slack's published examples). A message's thread is its conversation: the
// thread's first message (`thread_ts`, or its own `ts` at the top level) keys
// it, and the answer goes back into that thread.

const UrlVerification = z.strictObject({
  type: z.literal('url_verification'),
  token: z.string().max(200).optional(),
  challenge: z.string().min(1).max(500),
});

const Inner = z.object({
  type: z.string().max(50),
  subtype: z.string().max(50).optional(),
  user: z.string().regex(SLACK_ID).optional(),
  bot_id: z.string().max(50).optional(),
  text: clipped(40_000).optional(),
  ts: z.string().regex(SLACK_TS),
  thread_ts: z.string().regex(SLACK_TS).optional(),
  channel: z.string().regex(SLACK_ID),
  channel_type: z.string().max(20).optional(),
  team: z.string().max(32).optional(),
});

const Callback = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().max(32),
  api_app_id: z.string().max(32).optional(),
  event_id: z.string().regex(/^Ev[A-Za-z0-9]{4,40}$/),
  event_time: z.number().int(),
  event: Inner,
});

export type SlackBody =
  | { readonly kind: 'url_verification'; readonly challenge: string }
  | { readonly kind: 'event'; readonly eventId: string; readonly event: TriggerEvent }
  | { readonly kind: 'unsupported'; readonly eventId: string | null; readonly name: string };

/** `<@U123>` mentions of the app (and anyone else) are markup, not instruction: they go. */
export function withoutMentions(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function parseSlack(body: unknown): Parsed<SlackBody> {
  const handshake = UrlVerification.safeParse(body);
  if (handshake.success)
    return { ok: true, value: { kind: 'url_verification', challenge: handshake.data.challenge } };
  const parsed = Callback.safeParse(body);
  if (!parsed.success) {
    const type = (body as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && type !== 'event_callback' && type !== 'url_verification')
      return { ok: true, value: { kind: 'unsupported', eventId: null, name: type.slice(0, 50) } };
    return { ok: false, reason: `not a Slack Events API body: ${issuesLine(parsed.error)}` };
  }
  const { event, event_id: eventId, team_id: team } = parsed.data;
  const name =
    event.type === 'message' ? `message${event.channel_type ? `.${event.channel_type}` : ''}` : event.type;
  if ((event.type !== 'app_mention' && event.type !== 'message') || event.user === undefined)
    return { ok: true, value: { kind: 'unsupported', eventId, name } };
  const text = event.text ?? '';
  const threadTs = event.thread_ts ?? null;
  const message = {
    team,
    user: event.user,
    channel: event.channel,
    channelType: event.channel_type ?? null,
    ts: event.ts,
    threadTs,
  };
  const value: TriggerEvent = {
    source: 'slack',
    name,
    summary: `${name} from ${event.user} in ${event.channel}${threadTs === null ? '' : ' (thread)'}`,
    repository: null,
    labels: [],
    addedLabel: null,
    branch: null,
    text: withoutMentions(text),
    actor: event.user,
    // Edits, joins, bot posts (our own replies included) are never instructions.
    fromBot: event.bot_id !== undefined || event.subtype !== undefined,
    target: { kind: 'slack_thread', channel: event.channel, threadTs: threadTs ?? event.ts },
    slack: message,
    vars: {
      text: withoutMentions(text),
      message: { text, user: event.user, channel: event.channel, ts: event.ts, thread_ts: threadTs },
      user: { id: event.user },
      channel: { id: event.channel, type: event.channel_type ?? null },
    },
  };
  return { ok: true, value: { kind: 'event', eventId, event: value } };
}
