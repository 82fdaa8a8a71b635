// Upstash's REST wire format, both ways.
//
// Requests: a command is a JSON array ["CMD", ...args] whose arguments may be
// strings, numbers or booleans (@upstash/redis sends `true` as JSON true). Redis
// receives each as the text the client wrote: numbers keep every digit
// (9007199254740993 stays that, not the nearest double), booleans become
// "true"/"false". In the path form (/cmd/arg1/arg2) the body, if any, is the
// last argument and query parameters follow as NAME VALUE pairs.
//
// Replies: `{"result": …}` or `{"error": "ERR …"}`. Integer replies are written
// with every digit, as Upstash writes them (a JSON reader may round what lies
// beyond 2^53; that is the reader's choice, not ours). With
// `Upstash-Encoding: base64` every string but "OK" is base64, so binary
// values survive; otherwise strings are UTF-8 with invalid bytes replaced.

export type Args = readonly string[];

/** A request Upstash would answer with 400. */
export class BadRequest extends Error {}

/**
 * Parses JSON so that numbers and booleans arrive as the text Redis gets.
 * The reviver's third argument is the parser's source text (Node ≥ 21).
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
      if (typeof value === 'number') return context?.source ?? String(value);
      if (typeof value === 'boolean') return String(value);
      return value;
    });
  } catch (error) {
    throw new BadRequest(`ERR the body is not valid JSON: ${(error as Error).message}`);
  }
}

function asCommand(value: unknown): Args | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((arg) => typeof arg === 'string') ? (value as string[]) : undefined;
}

/** The body of `POST /`: one command. */
export function parseCommandBody(text: string): Args {
  const command = asCommand(text === '' ? undefined : parseJson(text));
  if (!command)
    throw new BadRequest(
      'ERR the body must be a JSON array ["COMMAND", ...args] of strings, numbers or booleans',
    );
  return command;
}

/** The body of `/pipeline` and `/multi-exec`: a non-empty array of commands. */
export function parseCommandsBody(text: string): Args[] {
  const value = text === '' ? undefined : parseJson(text);
  const commands = Array.isArray(value) ? value.map(asCommand) : [];
  if (commands.length === 0 || commands.some((c) => c === undefined))
    throw new BadRequest(
      'ERR the body must be a non-empty JSON array of commands: [["COMMAND", ...args], ...]',
    );
  return commands as Args[];
}

function pathSegments(url: URL): string[] {
  try {
    return url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new BadRequest('ERR the path is not valid percent-encoding');
  }
}

/** The path form: /cmd/arg1/arg2, then the body, then ?NAME=VALUE pairs. */
export function parsePathCommand(url: URL, body: string): Args {
  const args = pathSegments(url);
  if (body !== '') args.push(body);
  for (const [name, value] of url.searchParams) {
    if (name === '_token') continue;
    args.push(name);
    if (value !== '') args.push(value);
  }
  if (args.length === 0) throw new BadRequest('ERR no command given');
  return args;
}

/** The path after a stream endpoint: /subscribe/a/b → ["a", "b"]. */
export function pathArgs(url: URL): string[] {
  return pathSegments(url).slice(1);
}

const OK = Buffer.from('OK');
const INTEGER = /^-?\d+$/;

/**
 * A Redis reply as JSON text. Strings arrive as Buffers, integers as their
 * digits (see the type mapping in redis-rest-connections.ts); errors nested in
 * an array (a script's error_reply) are written as their message.
 */
export function encodeReply(reply: unknown, base64: boolean): string {
  if (reply === null || reply === undefined) return 'null';
  if (typeof reply === 'string') return INTEGER.test(reply) ? reply : JSON.stringify(reply);
  if (typeof reply === 'number' || typeof reply === 'bigint') return String(reply);
  if (Buffer.isBuffer(reply))
    return JSON.stringify(base64 && !reply.equals(OK) ? reply.toString('base64') : reply.toString('utf8'));
  if (Array.isArray(reply)) return `[${reply.map((item) => encodeReply(item, base64)).join(',')}]`;
  if (reply instanceof Error) return JSON.stringify(reply.message);
  return JSON.stringify(String(reply));
}

export type Outcome = { readonly result: unknown } | { readonly error: string };

export function encodeOutcome(outcome: Outcome, base64: boolean): string {
  return 'error' in outcome
    ? JSON.stringify({ error: outcome.error })
    : `{"result":${encodeReply(outcome.result, base64)}}`;
}

export function encodeOutcomes(outcomes: readonly Outcome[], base64: boolean): string {
  return `[${outcomes.map((outcome) => encodeOutcome(outcome, base64)).join(',')}]`;
}

/** One server-sent event; a payload with line breaks spans several data lines, as the format requires. */
export function sseEvent(payload: string): string {
  return `${payload
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}
