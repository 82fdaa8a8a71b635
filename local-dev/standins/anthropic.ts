import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../services/loopback.ts';

// A local stand-in for Anthropic's Messages API, faithful to the wire format
// Claude Code and OpenCode use: `POST /v1/messages` as JSON or as SSE
// (`message_start`, `content_block_start|delta|stop` with `text_delta` and
// `input_json_delta`, `ping`, `message_delta` with `stop_reason` and cumulative
// `usage`, `message_stop`), `tool_use` blocks and the `tool_result` blocks the
// client sends back, `POST /v1/messages/count_tokens` and `GET /v1/models`.
// It accepts exactly one key, in `x-api-key` (or as a Bearer token), answers
// any other with Anthropic's own 401 body, and records the credential it saw
// on every call — so a test can prove the real key reached it and the
// placeholder did not. Replies come from a script, as in the OpenAI stand-in.

export type AnthropicReply =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'tool_use'; readonly name: string; readonly input: Record<string, unknown> };

export interface AnthropicTurn {
  /** Zero-based count of `/v1/messages` calls so far. */
  readonly index: number;
  readonly body: Record<string, unknown>;
  /** Tool names the client offered. */
  readonly tools: readonly string[];
  /** Contents of `tool_result` blocks the client sent back, by `tool_use_id`. */
  readonly toolResults: ReadonlyMap<string, string>;
  /** The text of the last user message (its text blocks joined). */
  readonly lastUserText: string;
}

/** May answer later (a test holding the agent mid-turn while it looks inside the sandbox). */
export type AnthropicScript = (
  turn: AnthropicTurn,
) => readonly AnthropicReply[] | Promise<readonly AnthropicReply[]>;

export interface RecordedAnthropicRequest {
  readonly method: string;
  readonly path: string;
  readonly authorized: boolean;
  /** The credential as received: `x-api-key`, else a Bearer token. */
  readonly credential: string | undefined;
  readonly anthropicVersion: string | undefined;
  readonly body: unknown;
}

export interface AnthropicStandIn {
  readonly url: string;
  readonly requests: readonly RecordedAnthropicRequest[];
  close(): Promise<void>;
}

export const STANDIN_MODELS = [
  { id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5' },
  { id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5' },
  { id: 'claude-opus-4-1-20250805', display_name: 'Claude Opus 4.1' },
] as const;

/**
 * A tool call that runs `command` in the agent's shell: Claude Code offers `Bash`,
 * OpenCode `bash`; both take `{ command, description }`.
 */
export function bashCall(turn: AnthropicTurn, command: string): AnthropicReply {
  const name = turn.tools.find((t) => t === 'Bash' || t === 'bash');
  if (name === undefined)
    throw new Error(`the client offered no shell tool (tools: ${turn.tools.join(', ') || 'none'})`);
  return { kind: 'tool_use', name, input: { command, description: 'Run the scripted command' } };
}

const id = (prefix: string) => `${prefix}_01${randomBytes(11).toString('hex')}`;

/** Every answer carries a request id, as Anthropic's do (Claude Code looks for it). */
const JSON_HEADERS = () => ({ 'content-type': 'application/json', 'request-id': id('req') });

function error(res: ServerResponse, status: number, type: string, message: string): void {
  res
    .writeHead(status, JSON_HEADERS())
    .end(JSON.stringify({ type: 'error', error: { type, message }, request_id: id('req') }));
}

function toolNames(body: Record<string, unknown>): string[] {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  return tools.flatMap((t) => {
    const name = (t as { name?: unknown }).name;
    return typeof name === 'string' ? [name] : [];
  });
}

/** A block's text: a string, or its text blocks joined. */
function blockText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part) => {
        const p = part as { type?: unknown; text?: unknown };
        return typeof p.text === 'string' ? p.text : '';
      })
      .join('');
  return '';
}

function messagesOf(body: Record<string, unknown>): Array<{ role?: unknown; content?: unknown }> {
  return Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
}

function toolResultsOf(body: Record<string, unknown>): Map<string, string> {
  const results = new Map<string, string>();
  for (const message of messagesOf(body)) {
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const raw of message.content) {
      const block = raw as { type?: unknown; tool_use_id?: unknown; content?: unknown };
      if (block.type === 'tool_result' && typeof block.tool_use_id === 'string')
        results.set(block.tool_use_id, blockText(block.content));
    }
  }
  return results;
}

function lastUserText(body: Record<string, unknown>): string {
  const user = messagesOf(body).filter((m) => m.role === 'user');
  return blockText(user.at(-1)?.content);
}

function contentBlock(reply: AnthropicReply): Record<string, unknown> {
  return reply.kind === 'text'
    ? { type: 'text', text: reply.text }
    : { type: 'tool_use', id: id('toolu'), name: reply.name, input: reply.input };
}

const roughTokens = (body: Record<string, unknown>) =>
  Math.max(1, Math.ceil(JSON.stringify(body).length / 4));

function usage(input: number, output: number) {
  return {
    input_tokens: input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: output,
  };
}

function messageObject(body: Record<string, unknown>, content: unknown[], messageId: string) {
  return {
    id: messageId,
    type: 'message',
    role: 'assistant',
    model: typeof body.model === 'string' ? body.model : STANDIN_MODELS[0].id,
    content,
    stop_reason: null as string | null,
    stop_sequence: null,
    usage: usage(roughTokens(body), 1),
  };
}

const stopReason = (replies: readonly AnthropicReply[]) =>
  replies.some((r) => r.kind === 'tool_use') ? 'tool_use' : 'end_turn';

function stream(
  res: ServerResponse,
  body: Record<string, unknown>,
  replies: readonly AnthropicReply[],
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': id('req'),
  });
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const message = messageObject(body, [], id('msg'));
  send('message_start', { message });
  let output = 1;
  replies.forEach((reply, index) => {
    const block = contentBlock(reply);
    if (reply.kind === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      if (index === 0) send('ping', {});
      for (const text of reply.text.match(/.{1,16}/gs) ?? []) {
        send('content_block_delta', { index, delta: { type: 'text_delta', text } });
        output += 1;
      }
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      if (index === 0) send('ping', {});
      // Tool input arrives as JSON fragments; the first is empty, as the real API sends it.
      const json = JSON.stringify(reply.input);
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const partial_json of json.match(/.{1,24}/gs) ?? []) {
        send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
        output += 1;
      }
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: stopReason(replies), stop_sequence: null },
    usage: usage(message.usage.input_tokens, output),
  });
  send('message_stop', {});
  res.end();
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function models(res: ServerResponse, path: string): void {
  const data = STANDIN_MODELS.map((m) => ({ type: 'model', ...m, created_at: '2025-09-29T00:00:00Z' }));
  const one = /^\/v1\/models\/(.+)$/.exec(path)?.[1];
  if (one !== undefined) {
    const model = data.find((m) => m.id === one);
    if (model === undefined) error(res, 404, 'not_found_error', `model: ${one}`);
    else res.writeHead(200, JSON_HEADERS()).end(JSON.stringify(model));
    return;
  }
  res
    .writeHead(200, JSON_HEADERS())
    .end(JSON.stringify({ data, has_more: false, first_id: data[0]?.id, last_id: data.at(-1)?.id }));
}

/**
 * Claude Code asks api.anthropic.com for its organization's managed settings and policy
 * limits with the same key. An organization without either gets a 404 (Claude Code reads a
 * 404 carrying Anthropic's `request-id` as "none configured") and an empty restriction set.
 */
export const CLAUDE_CODE_SETTINGS = '/api/claude_code/settings';
export const CLAUDE_CODE_POLICY_LIMITS = '/api/claude_code/policy_limits';

const DEFAULT_SCRIPT: AnthropicScript = () => [{ kind: 'text', text: 'Hello from the stand-in.' }];

export async function startAnthropicStandIn(input: {
  apiKey: string;
  script?: AnthropicScript;
  port?: number;
}): Promise<AnthropicStandIn> {
  const requests: RecordedAnthropicRequest[] = [];
  const script = input.script ?? DEFAULT_SCRIPT;
  const want = Buffer.from(input.apiKey);
  let turns = 0;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const header = req.headers['x-api-key'];
    const apiKey = typeof header === 'string' ? header : undefined;
    const authorization = req.headers.authorization;
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
    const credential = apiKey ?? bearer;
    const given = Buffer.from(credential ?? '');
    const authorized = given.length === want.length && timingSafeEqual(given, want);
    const version = req.headers['anthropic-version'];
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    requests.push({
      method: req.method ?? 'GET',
      path,
      authorized,
      credential,
      anthropicVersion: typeof version === 'string' ? version : undefined,
      body,
    });
    if (credential === undefined)
      return error(res, 401, 'authentication_error', 'x-api-key header is required');
    if (!authorized) return error(res, 401, 'authentication_error', 'invalid x-api-key');
    if (req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/')))
      return models(res, path);
    if (req.method === 'GET' && path === CLAUDE_CODE_SETTINGS)
      return error(res, 404, 'not_found_error', 'No managed settings are configured for this organization');
    if (req.method === 'GET' && path === CLAUDE_CODE_POLICY_LIMITS) {
      res.writeHead(200, JSON_HEADERS()).end(JSON.stringify({ restrictions: {} }));
      return;
    }
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens'))
      return error(res, 404, 'not_found_error', 'Not Found');
    if (body === undefined)
      return error(res, 400, 'invalid_request_error', 'There was an error parsing the body of your request');
    if (path === '/v1/messages/count_tokens') {
      res.writeHead(200, JSON_HEADERS()).end(JSON.stringify({ input_tokens: roughTokens(body) }));
      return;
    }
    if (!Array.isArray(body.messages) || typeof body.model !== 'string')
      return error(res, 400, 'invalid_request_error', 'messages: Field required');
    let replies: readonly AnthropicReply[];
    try {
      replies = await script({
        index: turns++,
        body,
        tools: toolNames(body),
        toolResults: toolResultsOf(body),
        lastUserText: lastUserText(body),
      });
    } catch (failure) {
      return error(
        res,
        400,
        'invalid_request_error',
        failure instanceof Error ? failure.message : String(failure),
      );
    }
    if (body.stream === true) return stream(res, body, replies);
    const message = messageObject(body, replies.map(contentBlock), id('msg'));
    message.stop_reason = stopReason(replies);
    res.writeHead(200, JSON_HEADERS()).end(JSON.stringify(message));
  });
  const { url, close } = await listenOnLoopback(server, input.port);
  return {
    url,
    requests,
    close,
  };
}
