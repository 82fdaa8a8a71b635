import type { IncomingMessage, ServerResponse } from 'node:http';

// The Connect protocol (connectrpc.com/docs/protocol) as envd speaks it to the
// e2b SDK, which uses the JSON codec: unary calls are `application/json`
// POSTs answered with JSON (errors: an HTTP status and `{code, message}`);
// server-streaming calls send one enveloped message (flags byte, 4-byte
// big-endian length, JSON) and get enveloped messages back, then an
// end-of-stream envelope (flag 0x02) carrying `{}` or `{error}`.

export type ConnectCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'deadline_exceeded'
  | 'not_found'
  | 'permission_denied'
  | 'failed_precondition'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'unauthenticated';

const HTTP_STATUS: Record<ConnectCode, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  permission_denied: 403,
  failed_precondition: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  unauthenticated: 401,
};

export class ConnectError extends Error {
  readonly code: ConnectCode;
  constructor(code: ConnectCode, message: string) {
    super(message);
    this.code = code;
  }
}

const MAX_BODY = 64 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ConnectError('invalid_argument', 'request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The one message of a unary or server-streaming request, parsed as JSON. */
export async function requestMessage(
  req: IncomingMessage,
  streaming: boolean,
): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  let json = body;
  if (streaming) {
    if (body.length < 5) throw new ConnectError('invalid_argument', 'missing request envelope');
    const length = body.readUInt32BE(1);
    json = body.subarray(5, 5 + length);
  }
  try {
    const parsed: unknown = JSON.parse(json.length === 0 ? '{}' : json.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new ConnectError('invalid_argument', 'the request message is not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    throw new ConnectError('invalid_argument', 'the request message is not JSON');
  }
}

export function unaryReply(res: ServerResponse, message: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(message));
}

export function unaryError(res: ServerResponse, error: ConnectError): void {
  res.writeHead(HTTP_STATUS[error.code], { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: error.code, message: error.message }));
}

function envelope(flags: number, message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

export class ServerStream {
  #open = true;
  readonly res: ServerResponse;
  constructor(res: ServerResponse) {
    this.res = res;
    res.writeHead(200, { 'content-type': 'application/connect+json' });
  }

  get open(): boolean {
    return this.#open && !this.res.destroyed;
  }

  send(message: unknown): void {
    if (this.open) this.res.write(envelope(0, message));
  }

  end(error?: ConnectError): void {
    if (!this.open) return;
    this.#open = false;
    this.res.end(
      envelope(2, error === undefined ? {} : { error: { code: error.code, message: error.message } }),
    );
  }

  /** Drop the connection without an end-of-stream (a fault, or a lost sandbox). */
  drop(): void {
    this.#open = false;
    this.res.destroy();
  }
}
