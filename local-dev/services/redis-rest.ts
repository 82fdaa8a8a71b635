import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { openConnections } from './redis-rest-connections.ts';
import { createStreams } from './redis-rest-streams.ts';
import {
  BadRequest,
  encodeOutcome,
  encodeOutcomes,
  parseCommandBody,
  parseCommandsBody,
  parsePathCommand,
  pathArgs,
} from './redis-rest-wire.ts';

// Upstash's Redis REST API over a real Redis, so `@upstash/redis` works
// locally exactly as against Upstash:
//   POST /            ["CMD", ...args]      -> {"result": …} | 400 {"error": …}
//   POST /pipeline    [["CMD", …], …]       -> 200 [{"result": …} | {"error": …}, …]
//   POST /multi-exec  [["CMD", …], …]       -> the same, atomically; 400 {"error"} if discarded
//   POST /subscribe/<channel>…, /psubscribe/<pattern>…  -> text/event-stream
//   GET|POST /cmd/arg1/arg2?NAME=VALUE      -> the path form (a body is the last argument)
// `Authorization: Bearer <token>` (or `?_token=`) is required. Every response
// carries a new `upstash-sync-token` (read-your-writes): with one Redis and no
// replicas every read already sees every write, so the token a client sends
// back asks for nothing more and is not checked.
// The wire format is in redis-rest-wire.ts, what Upstash refuses in
// redis-rest-commands.ts, the connections in redis-rest-connections.ts, the
// event streams in redis-rest-streams.ts.

const MAX_BODY = 64 * 1024 * 1024;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT']);

export interface RedisRest {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadRequest('ERR request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function authorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(
    header.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('_token') ?? ''),
  );
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function startRedisRest(input: {
  redisUrl: string;
  token: string;
  port?: number;
}): Promise<RedisRest> {
  const connections = await openConnections(input.redisUrl);
  const streams = createStreams(connections.openStream);
  let syncSequence = 0;

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    headers: Record<string, string>,
  ): Promise<void> => {
    const send = (status: number, json: string) => {
      res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(json);
    };
    const fail = (status: number, error: string) => send(status, JSON.stringify({ error }));

    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!METHODS.has(req.method ?? '')) return fail(405, `ERR method ${req.method} is not allowed`);
    if (!authorized(req, url, input.token)) return fail(401, 'Unauthorized');
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const body = await readBody(req);
    const endpoint = url.pathname.split('/')[1] ?? '';

    if (endpoint === 'pipeline' || endpoint === 'multi-exec') {
      const commands = parseCommandsBody(body);
      if (endpoint === 'pipeline')
        return send(200, encodeOutcomes(await connections.pipeline(commands), base64));
      const outcomes = await connections.transaction(commands);
      return Array.isArray(outcomes)
        ? send(200, encodeOutcomes(outcomes, base64))
        : send(400, encodeOutcome(outcomes, base64));
    }
    const stream = endpoint.toLowerCase();
    if (stream === 'subscribe' || stream === 'psubscribe') {
      // @upstash/redis posts `[]` as the body of a subscription; names come from the path.
      const names = pathArgs(url);
      if (names.length === 0) return fail(400, `ERR wrong number of arguments for '${stream}' command`);
      return streams.serve(stream, names, res, headers);
    }
    const command = endpoint === '' ? parseCommandBody(body) : parsePathCommand(url, body);
    const outcome = await connections.run(command);
    return send('error' in outcome ? 400 : 200, encodeOutcome(outcome, base64));
  };

  const server = createServer((req, res) => {
    const headers = { 'upstash-sync-token': String(++syncSequence) };
    handle(req, res, headers).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = error instanceof BadRequest ? 400 : 500;
      const message = error instanceof Error ? error.message : String(error);
      res
        .writeHead(status, { ...headers, 'content-type': 'application/json' })
        .end(JSON.stringify({ error: message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, '127.0.0.1', () => resolve());
  }).catch(async (error: unknown) => {
    await connections.close();
    throw error;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token: input.token,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await streams.close();
      server.closeAllConnections();
      await closed;
      await connections.close();
    },
  };
}
