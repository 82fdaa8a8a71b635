import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

// envd's process table, on `docker exec`: processes outlive the request that
// started them (a background command keeps running after the client goes),
// can be re-attached by pid or tag, take stdin until it is closed, and are
// signalled inside the sandbox. Pids are the sandbox's own (from the host
// pid's NSpid line), as envd reports them.

export type ProcessEvent =
  | { readonly start: { readonly pid: number } }
  | { readonly data: { readonly stdout?: string; readonly stderr?: string } }
  | {
      readonly end: {
        readonly exitCode: number;
        readonly exited: boolean;
        readonly status: string;
        readonly error?: string;
      };
    };

export interface ProcessConfig {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly envs: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export class Proc {
  readonly listeners = new Set<(event: ProcessEvent) => void>();
  ended: ProcessEvent | null = null;
  stdinOpen: boolean;
  readonly pid: number;
  readonly tag: string | undefined;
  readonly config: ProcessConfig;
  readonly stream: Duplex;
  constructor(pid: number, tag: string | undefined, config: ProcessConfig, stream: Duplex, stdin: boolean) {
    this.pid = pid;
    this.tag = tag;
    this.config = config;
    this.stream = stream;
    this.stdinOpen = stdin;
  }

  emit(event: ProcessEvent): void {
    if ('end' in event) this.ended = event;
    for (const listener of this.listeners) listener(event);
  }
}

export type ProcessErrorCode = 'not_found' | 'invalid_argument' | 'failed_precondition' | 'internal';

export class ProcessError extends Error {
  readonly code: ProcessErrorCode;
  constructor(code: ProcessErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

async function sandboxPid(hostPid: number): Promise<number> {
  const status = await readFile(`/proc/${hostPid}/status`, 'utf8').catch(() => '');
  const ns = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
  return Number(ns?.at(-1) ?? hostPid);
}

export class ProcessTable {
  readonly #docker: Docker;
  readonly #containerId: string;
  readonly #procs = new Map<number, Proc>();

  constructor(docker: Docker, containerId: string) {
    this.#docker = docker;
    this.#containerId = containerId;
  }

  list(): Proc[] {
    return [...this.#procs.values()].filter((p) => p.ended === null);
  }

  find(selector: { pid?: number; tag?: string }): Proc {
    const proc =
      selector.pid !== undefined
        ? this.#procs.get(selector.pid)
        : [...this.#procs.values()].find((p) => p.tag !== undefined && p.tag === selector.tag);
    if (proc === undefined || proc.ended !== null)
      throw new ProcessError('not_found', `process ${selector.pid ?? selector.tag} not found`);
    return proc;
  }

  /** Start it; `onEvent` sees the start event first, then everything it prints, then its end. */
  async start(
    config: ProcessConfig,
    options: { user: string; stdin: boolean; tag?: string },
    onEvent: (event: ProcessEvent) => void,
  ): Promise<Proc> {
    const container = this.#docker.getContainer(this.#containerId);
    const exec = await container.exec({
      Cmd: [config.cmd, ...config.args],
      User: options.user,
      ...(config.cwd === undefined ? {} : { WorkingDir: config.cwd }),
      Env: Object.entries(config.envs).map(([k, v]) => `${k}=${v}`),
      AttachStdin: options.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = (await exec.start({ hijack: true, stdin: options.stdin })) as Duplex;
    const inspected = await exec.inspect();
    const pid = await sandboxPid(inspected.Pid);
    const proc = new Proc(pid, options.tag, config, stream, options.stdin);
    this.#procs.set(pid, proc);
    proc.listeners.add(onEvent);
    proc.emit({ start: { pid } });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (chunk: Buffer) => proc.emit({ data: { stdout: chunk.toString('base64') } }));
    stderr.on('data', (chunk: Buffer) => proc.emit({ data: { stderr: chunk.toString('base64') } }));
    this.#docker.modem.demuxStream(stream, stdout, stderr);
    stream.on('error', () => {});
    stream.on('close', () => {
      void exec.inspect().then(
        (done) => {
          const code = done.ExitCode ?? -1;
          proc.emit({ end: { exitCode: code, exited: true, status: `exit status ${code}` } });
          this.#procs.delete(pid);
        },
        () => {
          proc.emit({ end: { exitCode: -1, exited: false, status: 'lost', error: 'the process was lost' } });
          this.#procs.delete(pid);
        },
      );
    });
    return proc;
  }

  sendInput(selector: { pid?: number; tag?: string }, data: Buffer): void {
    const proc = this.find(selector);
    if (!proc.stdinOpen) throw new ProcessError('failed_precondition', 'stdin is not open for this process');
    proc.stream.write(data);
  }

  closeStdin(selector: { pid?: number; tag?: string }): void {
    const proc = this.find(selector);
    if (!proc.stdinOpen) throw new ProcessError('failed_precondition', 'stdin is not open for this process');
    proc.stdinOpen = false;
    proc.stream.end();
  }

  async signal(selector: { pid?: number; tag?: string }, signal: 'KILL' | 'TERM'): Promise<void> {
    const proc = this.find(selector);
    const exec = await this.#docker.getContainer(this.#containerId).exec({
      Cmd: ['kill', `-${signal}`, String(proc.pid)],
      User: 'root',
      AttachStdout: false,
      AttachStderr: false,
    });
    await exec.start({ Detach: true });
  }

  closeAll(): void {
    for (const proc of this.#procs.values()) proc.stream.destroy();
    this.#procs.clear();
  }
}
