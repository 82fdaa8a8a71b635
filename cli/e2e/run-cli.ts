import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pty from '@lydell/node-pty';
import { BUNDLE } from '../build.ts';

// The built CLI as a user runs it: a subprocess with its own HOME and config
// directory, either with pipes (`run`) or under a real pseudo-terminal
// (`PtyCli`, for `attach`: raw mode, window size, keys).

export interface CliHome {
  readonly home: string;
  readonly env: Record<string, string>;
}

export function cliHome(extra: Record<string, string> = {}): CliHome {
  const home = mkdtempSync(join(tmpdir(), 'airlock-cli-home-'));
  return {
    home,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      TERM: 'xterm-256color',
      NO_COLOR: '1',
      ...extra,
    },
  };
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly done: Promise<Ran>;
  kill(): void;
}

export function start(args: readonly string[], env: Record<string, string>, input?: string): Running {
  const child = spawn(process.execPath, [BUNDLE, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(input ?? '');
  const done = new Promise<Ran>((resolve) =>
    child.once('close', (code, signal) =>
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr }),
    ),
  );
  return { stdout: () => stdout, stderr: () => stderr, done, kill: () => child.kill('SIGKILL') };
}

export function run(args: readonly string[], env: Record<string, string>, input?: string): Promise<Ran> {
  return start(args, env, input).done;
}

/** Until `check` holds, polling; fails with `what` and a tail of `context()` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean,
  context: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; output so far:\n${context().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class PtyCli {
  readonly #pty: pty.IPty;
  #output = '';
  readonly exited: Promise<number>;

  constructor(args: readonly string[], env: Record<string, string>, size = { cols: 100, rows: 30 }) {
    this.#pty = pty.spawn(process.execPath, [BUNDLE, ...args], { name: 'xterm-256color', env, ...size });
    this.#pty.onData((data) => {
      this.#output += data;
    });
    this.exited = new Promise((resolve) => this.#pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  get output(): string {
    return this.#output;
  }

  /** Output since `from` (an earlier `output.length`). */
  since(from: number): string {
    return this.#output.slice(from);
  }

  async waitFor(pattern: string | RegExp, from = 0, timeoutMs = 30_000): Promise<void> {
    const test = (text: string) =>
      typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    await until(
      `${pattern} in the terminal`,
      () => test(this.#output.slice(from)),
      () => this.#output,
      timeoutMs,
    );
  }

  type(text: string): void {
    this.#pty.write(text);
  }

  resize(cols: number, rows: number): void {
    this.#pty.resize(cols, rows);
  }

  kill(): void {
    try {
      this.#pty.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}
