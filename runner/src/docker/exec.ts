import { PassThrough } from 'node:stream';
import {
  type AssignmentResult,
  type ExecAssignment,
  MAX_OUTPUT_CHUNK,
  SANDBOX_WORKSPACE,
} from '@airlock/schema/runner';
import { AssignmentFailure, dockerFailure, inspectByName, type SandboxContext } from './sandboxes.ts';

// Run a command in a running sandbox (builds: agent install, setup script).
// Output is streamed as it comes, in chunks the hub stores for followers, and
// the last 64 KiB of each stream come back with the exit code. The deadline is
// enforced inside the sandbox by coreutils `timeout` (TERM, then KILL 5 s
// later), so nothing outlives it even if the runner goes away.

const TAIL_BYTES = 64 * 1024;
/** Output streamed per exec; beyond it only the tails are kept. */
const MAX_STREAMED_BYTES = 1024 * 1024;
/** `timeout` exits 124 after TERM worked, 137 when it had to KILL. */
const TIMEOUT_EXITS = new Set([124, 137]);

export type OutputSink = (chunk: { seq: number; stream: 'stdout' | 'stderr'; data: string }) => void;

class Tail {
  #text = '';
  #dropped = false;
  push(text: string): void {
    this.#text += text;
    if (this.#text.length > TAIL_BYTES) {
      this.#text = this.#text.slice(this.#text.length - TAIL_BYTES);
      this.#dropped = true;
    }
  }
  get text(): string {
    return this.#text;
  }
  get dropped(): boolean {
    return this.#dropped;
  }
}

export async function execInSandbox(
  ctx: SandboxContext,
  a: ExecAssignment,
  onOutput: OutputSink,
): Promise<Extract<AssignmentResult, { kind: 'exec' }>> {
  const info = await inspectByName(ctx.docker, a.sandboxId);
  if (info === null) throw new AssignmentFailure('not_found', `sandbox ${a.sandboxId} has no container`);
  if (!info.State.Running) throw new AssignmentFailure('invalid', `sandbox ${a.sandboxId} is not running`);
  const started = Date.now();
  const tails = { stdout: new Tail(), stderr: new Tail() };
  let seq = 0;
  let streamed = 0;
  let truncated = false;
  const sink = (stream: 'stdout' | 'stderr') => {
    const pass = new PassThrough();
    pass.setEncoding('utf8');
    pass.on('data', (text: string) => {
      tails[stream].push(text);
      for (let i = 0; i < text.length; i += MAX_OUTPUT_CHUNK) {
        const data = text.slice(i, i + MAX_OUTPUT_CHUNK);
        if (streamed + data.length > MAX_STREAMED_BYTES) {
          truncated = true;
          return;
        }
        streamed += data.length;
        onOutput({ seq: seq++, stream, data });
      }
    });
    return pass;
  };
  try {
    const exec = await ctx.docker.getContainer(info.Id).exec({
      Cmd: ['timeout', '--kill-after=5', `${a.timeoutSeconds}s`, ...a.command],
      User: a.user,
      WorkingDir: a.workdir ?? SANDBOX_WORKSPACE,
      Env: Object.entries(a.env).map(([k, v]) => `${k}=${v}`),
      AttachStdin: a.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: a.stdin !== undefined });
    const stdout = sink('stdout');
    const stderr = sink('stderr');
    ctx.docker.modem.demuxStream(stream, stdout, stderr);
    if (a.stdin !== undefined) stream.end(a.stdin);
    await new Promise<void>((resolve, reject) => {
      // A last guard in case the engine never ends the stream.
      const guard = setTimeout(
        () => reject(new Error('exec stream did not end')),
        (a.timeoutSeconds + 30) * 1000,
      );
      stream.on('end', () => {
        clearTimeout(guard);
        resolve();
      });
      stream.on('close', () => {
        clearTimeout(guard);
        resolve();
      });
      stream.on('error', (error) => {
        clearTimeout(guard);
        reject(error);
      });
    });
    await Promise.all(
      [stdout, stderr].map(
        (pass) =>
          new Promise<void>((resolve) => {
            pass.once('end', resolve);
            pass.end();
          }),
      ),
    );
    const inspected = await exec.inspect();
    const durationMs = Date.now() - started;
    const exitCode = inspected.ExitCode ?? -1;
    return {
      kind: 'exec',
      exitCode,
      stdout: tails.stdout.text,
      stderr: tails.stderr.text,
      truncated: truncated || tails.stdout.dropped || tails.stderr.dropped,
      timedOut: TIMEOUT_EXITS.has(exitCode) && durationMs >= a.timeoutSeconds * 1000 - 250,
      durationMs,
    };
  } catch (error) {
    throw dockerFailure(error, 'exec');
  }
}
