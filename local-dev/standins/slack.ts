import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// A local stand-in for Slack, both directions, faithful to Slack's wire formats:
// - The Web API the app calls (`POST /api/<method>`, form-encoded or JSON, the
//   bot token as Bearer; refusals are HTTP 200 with `ok: false`, as Slack does):
//   `auth.test`, `users.info` (with `is_email_confirmed` and the profile email),
//   `chat.postMessage` (recorded; a thread reply keeps `thread_ts`).
// - The Events API: `event_callback` envelopes (team, api_app_id, event_id,
//   event_time, authorizations) and the `url_verification` handshake, signed
//   `v0=HMAC-SHA256(signing secret, "v0:" + ts + ":" + body)` with
//   `X-Slack-Request-Timestamp`, retried like Slack when the answer is not a 2xx
//   within 3 s (`X-Slack-Retry-Num` 1–3, `X-Slack-Retry-Reason`, same event_id).
//   The app's own posts come back as `message` events with its `bot_id`, as
//   they do in a channel it listens to.

export interface SlackUser {
  readonly id: string;
  readonly name: string;
  readonly email?: string;
  readonly emailConfirmed?: boolean;
  readonly isBot?: boolean;
}

export interface PostedMessage {
  readonly channel: string;
  readonly threadTs: string | null;
  readonly text: string;
  readonly ts: string;
}

export interface SlackDelivery {
  readonly eventId: string;
  readonly attempts: ReadonlyArray<{ status: number | null; ms: number; retryNum: number }>;
}

export interface SlackStandIn {
  readonly url: string;
  readonly botToken: string;
  readonly signingSecret: string;
  readonly botUserId: string;
  readonly team: string;
  readonly posted: readonly PostedMessage[];
  /** Where events go (the trigger's webhook URL). */
  eventsUrl: string | null;
  /** A person's message: a top-level mention, a thread reply, or a direct message. Returns its ts. */
  say(input: {
    user: string;
    channel: string;
    text: string;
    threadTs?: string;
    direct?: boolean;
    mention?: boolean;
  }): Promise<{ ts: string; deliveries: SlackDelivery[] }>;
  /** Add (or replace) a workspace member users.info knows. */
  addUser(user: SlackUser): void;
  /** Any envelope, signed (tests of signatures and replays). */
  deliver(
    event: Record<string, unknown>,
    options?: { eventId?: string; timestamp?: number; secret?: string },
  ): Promise<SlackDelivery>;
  /** Slack's url_verification handshake; returns the challenge echoed (or null). */
  verifyUrl(): Promise<string | null>;
  close(): Promise<void>;
}

const TIMEOUT_MS = 3000;

export async function startSlackStandIn(input: {
  users: readonly SlackUser[];
  /** Delays before retries 1–3 (Slack: at once, 1 min, 5 min); tests shorten them. */
  retryDelaysMs?: readonly number[];
  echoBotMessages?: boolean;
}): Promise<SlackStandIn> {
  const botToken = `xoxb-${randomBytes(6).toString('hex')}-${randomBytes(6).toString('hex')}-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(16).toString('hex');
  const team = 'T0AIRLOCK1';
  const botUserId = 'U0AIRLOCKBOT';
  const botId = 'B0AIRLOCKBOT';
  const appId = 'A0AIRLOCKAPP';
  const posted: PostedMessage[] = [];
  const users = new Map(input.users.map((u) => [u.id, u]));
  const retryDelays = input.retryDelaysMs ?? [0, 60_000, 300_000];
  let clock = Math.floor(Date.now() / 1000);
  let seq = 0;
  const nextTs = () => {
    seq++;
    clock = Math.max(clock, Math.floor(Date.now() / 1000));
    return `${clock}.${String(seq).padStart(6, '0')}`;
  };

  const send = async (body: string, timestamp: number, secret: string, retryNum: number) => {
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const started = Date.now();
    try {
      const response = await fetch(stand.eventsUrl ?? '', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': signature,
          ...(retryNum === 0
            ? {}
            : { 'x-slack-retry-num': String(retryNum), 'x-slack-retry-reason': 'http_timeout' }),
        },
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await response.text();
      return { status: response.status, ms: Date.now() - started, retryNum };
    } catch {
      return { status: null, ms: Date.now() - started, retryNum };
    }
  };

  const deliver: SlackStandIn['deliver'] = async (event, options = {}) => {
    const eventId = options.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`;
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      token: 'XXYYZZ',
      team_id: team,
      api_app_id: appId,
      event,
      type: 'event_callback',
      authorizations: [{ team_id: team, user_id: botUserId, is_bot: true, is_enterprise_install: false }],
      event_id: eventId,
      event_time: now,
    });
    const attempts: SlackDelivery['attempts'][number][] = [];
    for (let retry = 0; retry <= retryDelays.length; retry++) {
      if (retry > 0) await new Promise((r) => setTimeout(r, retryDelays[retry - 1] ?? 0));
      // A retry is signed afresh (its own timestamp), with the same body and event_id.
      const attempt = await send(
        body,
        options.timestamp ?? Math.floor(Date.now() / 1000),
        options.secret ?? signingSecret,
        retry,
      );
      attempts.push(attempt);
      if (attempt.status !== null && attempt.status >= 200 && attempt.status < 300) break;
      if (options.timestamp !== undefined || options.secret !== undefined) break; // a test of refusals: no retries
    }
    return { eventId, attempts };
  };

  const stand: SlackStandIn = {
    url: '',
    botToken,
    signingSecret,
    botUserId,
    team,
    posted,
    eventsUrl: null,
    deliver,
    addUser: (user) => {
      users.set(user.id, user);
    },
    async say(message) {
      const ts = nextTs();
      const channelType = message.direct === true ? 'im' : 'channel';
      const mentionText = message.mention === true ? `<@${botUserId}> ${message.text}` : message.text;
      const base = {
        user: message.user,
        text: mentionText,
        ts,
        channel: message.channel,
        event_ts: ts,
        ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
      };
      const deliveries: SlackDelivery[] = [];
      // A mention in a channel arrives twice, as Slack sends it: app_mention and message.channels.
      if (message.mention === true && message.direct !== true)
        deliveries.push(await deliver({ type: 'app_mention', ...base }));
      deliveries.push(await deliver({ type: 'message', ...base, channel_type: channelType }));
      return { ts, deliveries };
    },
    async verifyUrl() {
      const timestamp = Math.floor(Date.now() / 1000);
      const challenge = randomBytes(16).toString('hex');
      const body = JSON.stringify({ token: 'XXYYZZ', challenge, type: 'url_verification' });
      const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
      const response = await fetch(stand.eventsUrl ?? '', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': signature,
        },
        body,
      });
      const answer = (await response.json().catch(() => null)) as { challenge?: string } | null;
      return answer?.challenge ?? null;
    },
    close: async () => {},
  };

  const ok = (res: ServerResponse, body: Record<string, unknown>) =>
    res
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ ok: true, ...body }));
  const refuse = (res: ServerResponse, error: string) =>
    res
      .writeHead(200, { 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify({ ok: false, error }));

  const params = async (req: IncomingMessage): Promise<Record<string, string>> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        return Object.fromEntries(
          Object.entries(JSON.parse(text) as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
        );
      } catch {
        return {};
      }
    }
    return Object.fromEntries(new URLSearchParams(text));
  };

  const server = createServer(async (req, res) => {
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(new URL(req.url ?? '/', 'http://localhost').pathname)?.[1];
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const body = await params(req);
    if (method === undefined) return res.writeHead(404).end();
    const a = Buffer.from(given);
    const b = Buffer.from(botToken);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      return refuse(res, given === '' ? 'not_authed' : 'invalid_auth');
    switch (method) {
      case 'auth.test':
        return ok(res, {
          url: 'https://airlock-test.slack.com/',
          team: 'Airlock Test',
          user: 'airlock',
          team_id: team,
          user_id: botUserId,
          bot_id: botId,
        });
      case 'users.info': {
        const user = users.get(body.user ?? '');
        if (user === undefined) return refuse(res, 'user_not_found');
        return ok(res, {
          user: {
            id: user.id,
            team_id: team,
            name: user.name,
            deleted: false,
            is_bot: user.isBot ?? false,
            ...(user.emailConfirmed === undefined ? {} : { is_email_confirmed: user.emailConfirmed }),
            profile: {
              real_name: user.name,
              display_name: user.name,
              ...(user.email === undefined ? {} : { email: user.email }),
            },
          },
        });
      }
      case 'chat.postMessage': {
        if ((body.channel ?? '') === '') return refuse(res, 'channel_not_found');
        if ((body.text ?? '') === '') return refuse(res, 'no_text');
        const ts = nextTs();
        const message = {
          channel: body.channel ?? '',
          threadTs: body.thread_ts ?? null,
          text: body.text ?? '',
          ts,
        };
        posted.push(message);
        ok(res, {
          channel: message.channel,
          ts,
          message: {
            type: 'message',
            text: message.text,
            user: botUserId,
            bot_id: botId,
            ts,
            ...(message.threadTs === null ? {} : { thread_ts: message.threadTs }),
          },
        });
        if (input.echoBotMessages === true && stand.eventsUrl !== null)
          void deliver({
            type: 'message',
            user: botUserId,
            bot_id: botId,
            app_id: appId,
            text: message.text,
            ts,
            channel: message.channel,
            event_ts: ts,
            channel_type: 'channel',
            ...(message.threadTs === null ? {} : { thread_ts: message.threadTs }),
          });
        return;
      }
      default:
        return refuse(res, 'unknown_method');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  Object.assign(stand, {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return stand;
}
