import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ConnectError,
  readBody,
  requestMessage,
  ServerStream,
  unaryError,
  unaryReply,
} from './connect-rpc.ts';
import { type Proc, ProcessError, type ProcessEvent } from './processes.ts';
import type { SandboxRegistry, StandInSandbox } from './sandboxes.ts';

// envd, the in-sandbox API the e2b SDK calls at `sandboxUrl` (E2B's
// `sandbox.<domain>`), which routes by the `E2b-Sandbox-Id` header: the
// Process service over Connect RPC (start, connect, list, stdin, signals),
// the Filesystem service's basics, `/files` (read and write) and `/health`.
// Requests to a `secure` sandbox must carry its `X-Access-Token`.

/** envd's default user in E2B templates is `user`; the base image's unprivileged user is `sandbox`. */
const DEFAULT_USER = 'sandbox';

export interface EnvdFaults {
  /** Close process streams abruptly after the start event (a lost connection mid-command). */
  dropStreams: boolean;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function userOf(req: IncomingMessage): string {
  const auth = header(req, 'authorization');
  if (auth?.startsWith('Basic ') === true) {
    const user = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')[0] ?? '';
    if (/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) return user;
  }
  return DEFAULT_USER;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function selectorOf(message: Record<string, unknown>): { pid?: number; tag?: string } {
  const process = (message.process ?? {}) as { pid?: unknown; tag?: unknown };
  if (typeof process.pid === 'number') return { pid: process.pid };
  if (typeof process.tag === 'string') return { tag: process.tag };
  throw new ConnectError('invalid_argument', 'a process selector (pid or tag) is required');
}

function toConnect(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof ProcessError) return new ConnectError(error.code, error.message);
  return new ConnectError('internal', error instanceof Error ? error.message : String(error));
}

export class Envd {
  readonly faults: EnvdFaults = { dropStreams: false };
  readonly registry: SandboxRegistry;
  constructor(registry: SandboxRegistry) {
    this.registry = registry;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = header(req, 'e2b-sandbox-id');
    const sandbox = id === undefined ? undefined : this.registry.sandboxes.get(id);
    if (sandbox === undefined || sandbox.state !== 'running') {
      // E2B's edge answers 502 for a sandbox that is not running (the SDK reads it as "timed out").
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 502, message: `The sandbox ${id ?? ''} was not found` }));
      return;
    }
    if (
      sandbox.envdAccessToken !== undefined &&
      !sameSecret(header(req, 'x-access-token'), sandbox.envdAccessToken)
    ) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 401, message: 'invalid access token' }));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://envd');
    try {
      if (url.pathname === '/health') {
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === '/files') return await this.#files(req, res, sandbox, url);
      if (req.method !== 'POST') throw new ConnectError('unimplemented', `${req.method} ${url.pathname}`);
      switch (url.pathname) {
        case '/process.Process/Start':
          return await this.#start(req, res, sandbox);
        case '/process.Process/Connect':
          return await this.#connect(req, res, sandbox);
        case '/process.Process/List':
          return unaryReply(res, {
            processes: sandbox.processes.list().map((p) => ({
              config: {
                cmd: p.config.cmd,
                args: p.config.args,
                envs: p.config.envs,
                ...(p.config.cwd === undefined ? {} : { cwd: p.config.cwd }),
              },
              pid: p.pid,
              ...(p.tag === undefined ? {} : { tag: p.tag }),
            })),
          });
        case '/process.Process/SendInput': {
          const message = await requestMessage(req, false);
          const input = (message.input ?? {}) as { stdin?: unknown };
          if (typeof input.stdin !== 'string')
            throw new ConnectError('invalid_argument', 'stdin bytes are required');
          sandbox.processes.sendInput(selectorOf(message), Buffer.from(input.stdin, 'base64'));
          return unaryReply(res, {});
        }
        case '/process.Process/CloseStdin':
          sandbox.processes.closeStdin(selectorOf(await requestMessage(req, false)));
          return unaryReply(res, {});
        case '/process.Process/SendSignal': {
          const message = await requestMessage(req, false);
          const kill = message.signal === 9 || message.signal === 'SIGNAL_SIGKILL';
          await sandbox.processes.signal(selectorOf(message), kill ? 'KILL' : 'TERM');
          return unaryReply(res, {});
        }
        case '/filesystem.Filesystem/MakeDir':
        case '/filesystem.Filesystem/Remove':
        case '/filesystem.Filesystem/Stat':
          return await this.#fs(req, res, sandbox, url.pathname);
        default:
          throw new ConnectError('unimplemented', `${url.pathname} is not served by this stand-in`);
      }
    } catch (error) {
      if (!res.headersSent) unaryError(res, toConnect(error));
      else res.destroy();
    }
  }

  async #start(req: IncomingMessage, res: ServerResponse, sandbox: StandInSandbox): Promise<void> {
    const message = await requestMessage(req, true);
    const process = (message.process ?? {}) as {
      cmd?: unknown;
      args?: unknown;
      envs?: unknown;
      cwd?: unknown;
    };
    if (typeof process.cmd !== 'string')
      throw new ConnectError('invalid_argument', 'process.cmd is required');
    const args = Array.isArray(process.args)
      ? process.args.filter((a): a is string => typeof a === 'string')
      : [];
    const envs =
      typeof process.envs === 'object' && process.envs !== null
        ? (process.envs as Record<string, string>)
        : {};
    const stream = new ServerStream(res);
    const send = this.#forward(stream, req, sandbox);
    await sandbox.processes.start(
      { cmd: process.cmd, args, envs, ...(typeof process.cwd === 'string' ? { cwd: process.cwd } : {}) },
      {
        user: userOf(req),
        stdin: message.stdin === true,
        ...(typeof message.tag === 'string' ? { tag: message.tag } : {}),
      },
      send,
    );
  }

  async #connect(req: IncomingMessage, res: ServerResponse, sandbox: StandInSandbox): Promise<void> {
    const proc = sandbox.processes.find(selectorOf(await requestMessage(req, true)));
    const stream = new ServerStream(res);
    const send = this.#forward(stream, req, sandbox);
    send({ start: { pid: proc.pid } });
    proc.listeners.add(send);
  }

  /** A process's events onto a stream; the stream's deadline (Connect-Timeout-Ms) kills the process, as envd's does. */
  #forward(
    stream: ServerStream,
    req: IncomingMessage,
    sandbox: StandInSandbox,
  ): (event: ProcessEvent) => void {
    let proc: Proc | null = null;
    const keepalive = Math.max(5, Number(header(req, 'keepalive-ping-interval') ?? 50)) * 1000;
    const pinger = setInterval(() => stream.send({ event: { keepalive: {} } }), keepalive);
    const deadline = Number(header(req, 'connect-timeout-ms') ?? 0);
    const timer = deadline > 0 ? setTimeout(() => proc?.stream.destroy(), deadline) : undefined;
    const stop = () => {
      clearInterval(pinger);
      clearTimeout(timer);
    };
    stream.res.on('close', () => {
      stop();
      proc?.listeners.delete(send);
    });
    const send = (event: ProcessEvent): void => {
      if ('start' in event) {
        try {
          proc = sandbox.processes.find({ pid: event.start.pid });
        } catch {
          proc = null;
        }
        stream.send({ event });
        if (this.faults.dropStreams) setTimeout(() => stream.drop(), 50);
        return;
      }
      stream.send({ event });
      if ('end' in event) {
        stop();
        stream.end();
      }
    };
    return send;
  }

  async #files(req: IncomingMessage, res: ServerResponse, sandbox: StandInSandbox, url: URL): Promise<void> {
    const path = url.searchParams.get('path');
    const user = url.searchParams.get('username') ?? userOf(req);
    if (path === null || !path.startsWith('/'))
      throw new ConnectError('invalid_argument', 'an absolute path is required');
    const output: Buffer[] = [];
    const body = req.method === 'POST' ? await readBody(req) : null;
    const proc = await new Promise<ProcessEvent>((resolve, reject) => {
      const argv =
        body === null
          ? ['cat', '--', path]
          : ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'write', path];
      sandbox.processes
        .start(
          { cmd: argv[0] ?? 'cat', args: argv.slice(1), envs: {} },
          { user, stdin: body !== null },
          (event) => {
            if ('data' in event && event.data.stdout !== undefined)
              output.push(Buffer.from(event.data.stdout, 'base64'));
            if ('end' in event) resolve(event);
          },
        )
        .then((started) => {
          if (body !== null) {
            started.stream.end(body);
            started.stdinOpen = false;
          }
        }, reject);
    });
    if (!('end' in proc) || proc.end.exitCode !== 0) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 404, message: `path ${path} not found or not accessible` }));
      return;
    }
    if (body === null) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat(output));
      return;
    }
    unaryReply(res, [{ name: path.split('/').pop() ?? '', type: 'file', path }]);
  }

  async #fs(
    req: IncomingMessage,
    res: ServerResponse,
    sandbox: StandInSandbox,
    method: string,
  ): Promise<void> {
    const message = await requestMessage(req, false);
    if (typeof message.path !== 'string' || !message.path.startsWith('/'))
      throw new ConnectError('invalid_argument', 'an absolute path is required');
    const path = message.path;
    const argv = method.endsWith('/MakeDir')
      ? ['mkdir', '-p', '--', path]
      : method.endsWith('/Remove')
        ? ['rm', '-rf', '--', path]
        : ['test', '-e', path];
    const exit = await new Promise<number>((resolve, reject) => {
      sandbox.processes
        .start(
          { cmd: argv[0] ?? 'true', args: argv.slice(1), envs: {} },
          { user: userOf(req), stdin: false },
          (event) => {
            if ('end' in event) resolve(event.end.exitCode);
          },
        )
        .catch(reject);
    });
    if (exit !== 0) throw new ConnectError('not_found', `path ${path} not found`);
    const name = path.split('/').pop() ?? '';
    unaryReply(
      res,
      method.endsWith('/Remove')
        ? {}
        : {
            entry: {
              name,
              type: method.endsWith('/MakeDir') ? 'FILE_TYPE_DIRECTORY' : 'FILE_TYPE_FILE',
              path,
            },
          },
    );
  }
}
