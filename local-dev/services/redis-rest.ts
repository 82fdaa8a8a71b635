import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createClient, RESP_TYPES } from 'redis';

// Upstash's Redis REST protocol over a real Redis, so `@upstash/redis` works
// locally exactly as against Upstash:
//   POST /            body ["CMD", ...args]          -> {"result": …} | 400 {"error": …}
//   POST /pipeline    body [["CMD", …], …]           -> [{"result": …} | {"error": …}, …]
//   POST /multi-exec  body [["CMD", …], …]           -> same, executed atomically
//   GET|POST /cmd/arg1/arg2                          -> path form (body, if any, is the last arg)
// `Authorization: Bearer <token>` is required; `Upstash-Encoding: base64`
// returns every string but the status reply "OK" base64-encoded.

type Reply = null | number | string | Buffer | Reply[];
type Args = string[];

const MAX_BODY = 64 * 1024 * 1024;

export interface RedisRest {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

function encode(value: Reply, base64: boolean): unknown {
  if (value === null || typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string')
    return base64 && value !== 'OK' ? Buffer.from(value).toString('base64') : value;
  return value;
}

// Upstash accepts the script flag `allow-key-locking` (used by @upstash/ratelimit);
// plain Redis rejects unknown shebang flags. Dropping it keeps the same
// semantics on a single Redis. EVALSHA of the flagged script's hash then
// answers NOSCRIPT and clients fall back to EVAL, as they do against Upstash.
function upstashScriptFlags(args: string[]): string[] {
  const name = args[0]?.toUpperCase();
  const at =
    name === 'EVAL' || name === 'EVAL_RO'
      ? 1
      : name === 'SCRIPT' && args[1]?.toUpperCase() === 'LOAD'
        ? 2
        : -1;
  const script = args[at];
  if (script === undefined || !script.startsWith('#!lua')) return args;
  const [shebang = '', ...body] = script.split('\n');
  const flags = /flags=(\S*)/
    .exec(shebang)?.[1]
    ?.split(',')
    .filter((f) => f !== 'allow-key-locking' && f !== '');
  const kept = `#!lua${flags === undefined || flags.length === 0 ? '' : ` flags=${flags.join(',')}`}`;
  return args.map((arg, i) => (i === at ? [kept, ...body].join('\n') : arg));
}

function isArgs(value: unknown): value is Args {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === 'string' || typeof v === 'number')
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function startRedisRest(input: {
  redisUrl: string;
  token: string;
  port?: number;
}): Promise<RedisRest> {
  const client = createClient({ url: input.redisUrl, RESP: 2 }).withTypeMapping({
    [RESP_TYPES.BLOB_STRING]: Buffer,
  });
  client.on('error', () => {}); // reconnects on its own; requests in flight get the error
  await client.connect();

  const run = async (args: Args): Promise<Reply> =>
    (await client.sendCommand(upstashScriptFlags(args.map(String)))) as Reply;

  const server = createServer(async (req, res) => {
    try {
      if (!authorized(req, input.token)) return send(res, 401, { error: 'Unauthorized' });
      const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const raw = await readBody(req);
      if (path === '/pipeline' || path === '/multi-exec') {
        const commands: unknown = raw === '' ? null : JSON.parse(raw);
        if (!Array.isArray(commands) || commands.length === 0 || !commands.every(isArgs)) {
          return send(res, 400, { error: 'ERR a pipeline body must be a non-empty array of commands' });
        }
        if (path === '/pipeline') {
          const results = await Promise.all(
            commands.map((args) =>
              run(args).then(
                (result) => ({ result: encode(result, base64) }),
                (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
              ),
            ),
          );
          return send(res, 200, results);
        }
        const multi = client.multi();
        for (const args of commands) multi.addCommand(upstashScriptFlags(args.map(String)));
        try {
          const results = (await multi.exec()) as unknown as Reply[];
          return send(
            res,
            200,
            results.map((result) => ({ result: encode(result, base64) })),
          );
        } catch (error) {
          return send(res, 400, { error: error instanceof Error ? error.message : String(error) });
        }
      }
      let args: unknown;
      if (path === '/' || path === '') {
        args = raw === '' ? null : JSON.parse(raw);
      } else {
        args = path.split('/').filter(Boolean).map(decodeURIComponent);
        if (raw !== '') (args as string[]).push(raw);
      }
      if (!isArgs(args))
        return send(res, 400, { error: 'ERR the body must be a JSON array: ["COMMAND", ...args]' });
      try {
        return send(res, 200, { result: encode(await run(args), base64) });
      } catch (error) {
        return send(res, 400, { error: error instanceof Error ? error.message : String(error) });
      }
    } catch (error) {
      return send(res, 400, { error: `ERR ${error instanceof Error ? error.message : String(error)}` });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token: input.token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.close();
    },
  };
}
