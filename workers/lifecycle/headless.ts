import type { SessionGateway } from '@airlock/durable-objects/session-gateway';
import type { ExecEvent, ExecInput } from '@airlock/schema/gateway';

// A headless agent run through the session's gateway (`codex exec …`,
// `opencode run …`, `claude -p …`): the command with the prompt as its last
// argument, run by sandboxd over the tunnel; the lifecycle keeps the exit code
// and the tail of the output.

const TAIL_BYTES = 8 * 1024;

export interface HeadlessOutcome {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** Set when the command never ran (e.g. the agent CLI is not installed) or the stream broke. */
  readonly error: string | null;
  /** The last few KiB of stdout and stderr, interleaved as they came. */
  readonly tail: string;
  /** The last few KiB of stdout alone: headless agents print their final message there. */
  readonly stdout: string;
}

export interface HeadlessWatch {
  /** Called with the output tail as it grows, at most every `everyMs` (a turn's live output). */
  readonly onOutput: (tail: string) => Promise<void>;
  readonly everyMs: number;
}

export async function runHeadless(
  gateway: DurableObjectStub<SessionGateway>,
  input: ExecInput,
  watch?: HeadlessWatch,
): Promise<HeadlessOutcome> {
  const stream = await gateway.exec(input);
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let tail = '';
  let stdout = '';
  let shown = 0;
  let outcome: Omit<HeadlessOutcome, 'tail' | 'stdout'> | null = null;
  const take = (line: string) => {
    if (line.trim() === '') return;
    const event = JSON.parse(line) as ExecEvent;
    if (event.type === 'stdout') stdout = (stdout + event.data).slice(-TAIL_BYTES);
    if (event.type === 'stdout' || event.type === 'stderr') tail = (tail + event.data).slice(-TAIL_BYTES);
    else if (event.type === 'exit') outcome = { exitCode: event.code, timedOut: event.timedOut, error: null };
    else if (event.type === 'error')
      outcome = { exitCode: null, timedOut: false, error: `${event.message} (${event.code})` };
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      take(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
    if (watch !== undefined && Date.now() - shown >= watch.everyMs) {
      shown = Date.now();
      await watch.onOutput(tail).catch(() => {});
    }
  }
  take(buffered);
  return {
    ...(outcome ?? { exitCode: null, timedOut: false, error: 'the run ended without an exit status' }),
    tail,
    stdout,
  };
}
