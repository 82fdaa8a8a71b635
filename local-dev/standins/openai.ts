import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../services/loopback.ts';

// A local stand-in for OpenAI's API, faithful to the wire formats agent CLIs
// use: the Responses API (JSON and SSE streaming, as Codex calls it) and Chat
// Completions (JSON and SSE). It accepts exactly one API key and rejects any
// other with OpenAI's own 401 body — so a test can prove the real key reached
// it and a placeholder did not. Replies come from a script, which can answer
// with text or with a tool call the agent will execute.

export type ScriptedReply =
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'function_call'; readonly name: string; readonly arguments: Record<string, unknown> }
  /** A freeform tool's call (Responses API only), e.g. Codex's code-mode `exec` taking JavaScript. */
  | { readonly kind: 'custom_tool_call'; readonly name: string; readonly input: string };

export interface Turn {
  readonly api: 'responses' | 'chat';
  /** Zero-based count of model calls so far. */
  readonly index: number;
  readonly body: Record<string, unknown>;
  /** Tool names the client offered. */
  readonly tools: readonly string[];
  /** Outputs of earlier tool calls the client sent back, by call id. */
  readonly toolOutputs: ReadonlyMap<string, string>;
}

/** May answer later (a test holding the agent mid-turn while it looks inside the sandbox). */
export type Script = (turn: Turn) => readonly ScriptedReply[] | Promise<readonly ScriptedReply[]>;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorized: boolean;
  /** The bearer token as received (for assertions on what reached the upstream). */
  readonly bearer: string | undefined;
  readonly body: unknown;
}

export interface OpenAiStandIn {
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** A tool call that runs `command` in the agent's shell, shaped for whichever shell tool the client offers. */
export function shellCall(turn: Turn, command: string): ScriptedReply {
  if (turn.tools.includes('exec_command'))
    return { kind: 'function_call', name: 'exec_command', arguments: { cmd: command } };
  // Codex in code mode (its default model) offers one freeform `exec` tool that runs
  // JavaScript; the shell is a nested tool there, and `text()` is what comes back.
  if (turn.tools.includes('exec'))
    return {
      kind: 'custom_tool_call',
      name: 'exec',
      input: [
        `const r = await tools.exec_command({ cmd: ${JSON.stringify(command)}, yield_time_ms: 30000 });`,
        'text(typeof r === "string" ? r : r.output + "\\nexit code: " + r.exit_code);',
      ].join('\n'),
    };
  if (turn.tools.includes('shell'))
    return { kind: 'function_call', name: 'shell', arguments: { command: ['bash', '-lc', command] } };
  if (turn.tools.includes('local_shell')) {
    return { kind: 'function_call', name: 'local_shell', arguments: { command: ['bash', '-lc', command] } };
  }
  // OpenCode's shell tool, whichever provider drives it.
  if (turn.tools.includes('bash'))
    return {
      kind: 'function_call',
      name: 'bash',
      arguments: { command, description: 'Run the scripted command' },
    };
  throw new Error(`the client offered no shell tool (tools: ${turn.tools.join(', ') || 'none'})`);
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

function invalidKey(res: ServerResponse, given: string | undefined): void {
  const shown = given === undefined ? '' : `${given.slice(0, 3)}***${given.slice(-4)}`;
  res.writeHead(401, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      error: {
        message:
          given === undefined
            ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            : `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: given === undefined ? null : 'invalid_api_key',
      },
    }),
  );
}

function badRequest(res: ServerResponse, message: string): void {
  res
    .writeHead(400, { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
}

/**
 * Names of the tools offered: `tools`, and the `additional_tools` input items newer Codex
 * versions send instead; namespaces contribute their members' names as well as their own.
 */
function toolNames(body: Record<string, unknown>): string[] {
  const offered: unknown[] = Array.isArray(body.tools) ? [...body.tools] : [];
  for (const item of Array.isArray(body.input) ? body.input : []) {
    const extra = item as { type?: unknown; tools?: unknown };
    if (extra.type === 'additional_tools' && Array.isArray(extra.tools)) offered.push(...extra.tools);
  }
  const names: string[] = [];
  const walk = (tools: readonly unknown[]) => {
    for (const t of tools) {
      const tool = t as { name?: unknown; type?: unknown; function?: { name?: unknown }; tools?: unknown };
      if (typeof tool.name === 'string') names.push(tool.name);
      else if (typeof tool.function?.name === 'string') names.push(tool.function.name);
      else if (typeof tool.type === 'string') names.push(tool.type);
      if (tool.type === 'namespace' && Array.isArray(tool.tools)) walk(tool.tools);
    }
  };
  walk(offered);
  return names;
}

/** A tool output as text: a string, or content parts (`input_text`/`output_text`) joined. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output))
    return output
      .map((part) => {
        const p = part as { text?: unknown };
        return typeof p.text === 'string' ? p.text : JSON.stringify(part);
      })
      .join('');
  return JSON.stringify(output);
}

function toolOutputsOf(body: Record<string, unknown>): Map<string, string> {
  const outputs = new Map<string, string>();
  const items = Array.isArray(body.input) ? body.input : Array.isArray(body.messages) ? body.messages : [];
  for (const raw of items) {
    const item = raw as {
      type?: unknown;
      role?: unknown;
      call_id?: unknown;
      tool_call_id?: unknown;
      output?: unknown;
      content?: unknown;
    };
    if (
      (item.type === 'function_call_output' || item.type === 'custom_tool_call_output') &&
      typeof item.call_id === 'string'
    ) {
      outputs.set(item.call_id, outputText(item.output));
    }
    if (item.role === 'tool' && typeof item.tool_call_id === 'string') {
      outputs.set(
        item.tool_call_id,
        typeof item.content === 'string' ? item.content : JSON.stringify(item.content),
      );
    }
  }
  return outputs;
}

function responseItem(reply: ScriptedReply): Record<string, unknown> {
  if (reply.kind === 'message') {
    return {
      type: 'message',
      id: id('msg'),
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: reply.text, annotations: [] }],
    };
  }
  if (reply.kind === 'custom_tool_call') {
    return {
      type: 'custom_tool_call',
      id: id('ctc'),
      call_id: id('call'),
      name: reply.name,
      input: reply.input,
      status: 'completed',
    };
  }
  return {
    type: 'function_call',
    id: id('fc'),
    call_id: id('call'),
    name: reply.name,
    arguments: JSON.stringify(reply.arguments),
    status: 'completed',
  };
}

function responseObject(
  body: Record<string, unknown>,
  output: unknown[],
  status: 'in_progress' | 'completed',
  responseId: string,
) {
  return {
    id: responseId,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    error: null,
    incomplete_details: null,
    instructions: typeof body.instructions === 'string' ? body.instructions : null,
    model: typeof body.model === 'string' ? body.model : 'gpt-standin',
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    usage:
      status === 'completed'
        ? {
            input_tokens: 10,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 5,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 15,
          }
        : null,
  };
}

function streamResponses(
  res: ServerResponse,
  body: Record<string, unknown>,
  replies: readonly ScriptedReply[],
): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  let sequence = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
  const responseId = id('resp');
  send('response.created', { response: responseObject(body, [], 'in_progress', responseId) });
  send('response.in_progress', { response: responseObject(body, [], 'in_progress', responseId) });
  const done: Record<string, unknown>[] = [];
  replies.forEach((reply, outputIndex) => {
    const item = responseItem(reply);
    if (reply.kind === 'message') {
      send('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, status: 'in_progress', content: [] },
      });
      const part = { type: 'output_text', text: '', annotations: [] };
      send('response.content_part.added', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        part,
      });
      for (const delta of reply.text.match(/.{1,16}/gs) ?? []) {
        send('response.output_text.delta', {
          item_id: item.id,
          output_index: outputIndex,
          content_index: 0,
          delta,
        });
      }
      send('response.output_text.done', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        text: reply.text,
      });
      send('response.content_part.done', {
        item_id: item.id,
        output_index: outputIndex,
        content_index: 0,
        part: { ...part, text: reply.text },
      });
    } else if (reply.kind === 'custom_tool_call') {
      send('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, input: '', status: 'in_progress' },
      });
      send('response.custom_tool_call_input.delta', {
        item_id: item.id,
        output_index: outputIndex,
        delta: reply.input,
      });
      send('response.custom_tool_call_input.done', {
        item_id: item.id,
        output_index: outputIndex,
        input: reply.input,
      });
    } else {
      send('response.output_item.added', {
        output_index: outputIndex,
        item: { ...item, arguments: '', status: 'in_progress' },
      });
      send('response.function_call_arguments.delta', {
        item_id: item.id,
        output_index: outputIndex,
        delta: item.arguments,
      });
      send('response.function_call_arguments.done', {
        item_id: item.id,
        output_index: outputIndex,
        arguments: item.arguments,
      });
    }
    send('response.output_item.done', { output_index: outputIndex, item });
    done.push(item);
  });
  send('response.completed', { response: responseObject(body, done, 'completed', responseId) });
  res.end();
}

function chatMessage(replies: readonly ScriptedReply[]): Record<string, unknown> {
  const text = replies
    .filter((r) => r.kind === 'message')
    .map((r) => r.text)
    .join('');
  const calls = replies
    .filter((r) => r.kind === 'function_call')
    .map((r) => ({
      id: id('call'),
      type: 'function',
      function: { name: r.name, arguments: JSON.stringify(r.arguments) },
    }));
  return {
    role: 'assistant',
    content: text === '' ? null : text,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  };
}

function chat(res: ServerResponse, body: Record<string, unknown>, replies: readonly ScriptedReply[]): void {
  const message = chatMessage(replies);
  const finish = Array.isArray(message.tool_calls) ? 'tool_calls' : 'stop';
  const base = {
    id: id('chatcmpl'),
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' ? body.model : 'gpt-standin',
  };
  if (body.stream !== true) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: Record<string, unknown>, finishReason: string | null) =>
    res.write(
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] })}\n\n`,
    );
  chunk({ role: 'assistant', content: '' }, null);
  if (typeof message.content === 'string')
    for (const piece of message.content.match(/.{1,16}/gs) ?? []) chunk({ content: piece }, null);
  if (Array.isArray(message.tool_calls)) {
    for (const [index, call] of message.tool_calls.entries()) {
      chunk({ tool_calls: [{ index, ...(call as Record<string, unknown>) }] }, null);
    }
  }
  chunk({}, finish);
  res.end('data: [DONE]\n\n');
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

const DEFAULT_SCRIPT: Script = () => [{ kind: 'message', text: 'Hello from the stand-in.' }];

export async function startOpenAiStandIn(input: {
  apiKey: string;
  script?: Script;
  port?: number;
}): Promise<OpenAiStandIn> {
  const requests: RecordedRequest[] = [];
  const script = input.script ?? DEFAULT_SCRIPT;
  const want = Buffer.from(input.apiKey);
  let turns = 0;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/^\/openai/, '');
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    const given = Buffer.from(bearer ?? '');
    const authorized = given.length === want.length && timingSafeEqual(given, want);
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    requests.push({ method: req.method ?? 'GET', path, authorized, bearer, body });
    if (!authorized) return invalidKey(res, bearer);
    if (req.method === 'GET' && path === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          data: [{ id: 'gpt-standin', object: 'model', created: 0, owned_by: 'airlock' }],
        }),
      );
      return;
    }
    if (req.method !== 'POST' || (path !== '/v1/responses' && path !== '/v1/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            message: `Invalid URL (${req.method} ${path})`,
            type: 'invalid_request_error',
            param: null,
            code: null,
          },
        }),
      );
      return;
    }
    if (!body) return badRequest(res, 'We could not parse the JSON body of your request.');
    const api = path === '/v1/responses' ? 'responses' : 'chat';
    let replies: readonly ScriptedReply[];
    try {
      replies = await script({
        api,
        index: turns++,
        body,
        tools: toolNames(body),
        toolOutputs: toolOutputsOf(body),
      });
    } catch (error) {
      return badRequest(res, error instanceof Error ? error.message : String(error));
    }
    if (api === 'chat') {
      if (replies.some((r) => r.kind === 'custom_tool_call'))
        return badRequest(res, 'Chat Completions has no freeform (custom) tools');
      return chat(res, body, replies);
    }
    if (body.stream === true) return streamResponses(res, body, replies);
    const output = replies.map(responseItem);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(responseObject(body, output, 'completed', id('resp'))));
  });
  const { url, close } = await listenOnLoopback(server, input.port);
  return {
    url,
    requests,
    close,
  };
}
