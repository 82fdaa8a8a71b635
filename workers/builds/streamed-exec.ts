import type { ExecInput, ExecOutcome, SandboxProvider, SandboxRef } from '../providers/types.ts';
import type { BuildLog } from './build-log.ts';

// A provider exec whose output goes into the build log while it runs: the
// exec call holds until the command ends (ADR 0034), and meanwhile its output
// so far is polled with `execOutput` and written line by line. The exec's
// operation id makes a retried step re-attach to the same command on the
// runner rather than run it twice.

const POLL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function streamedExec(
  provider: SandboxProvider,
  ref: SandboxRef,
  input: ExecInput,
  log: BuildLog,
): Promise<ExecOutcome> {
  let afterSeq = -1;
  let settled = false;
  const running = provider.exec(ref, input).finally(() => {
    settled = true;
  });
  // Observed below; keep an early rejection from being reported as unhandled meanwhile.
  running.catch(() => {});
  const pull = async () => {
    try {
      for (const chunk of await provider.execOutput(ref, { operationId: input.operationId, afterSeq })) {
        if (chunk.seq <= afterSeq) continue;
        log.write(chunk.stream, chunk.data);
        afterSeq = chunk.seq;
      }
    } catch {
      // Not submitted yet, or a transient hub error: the next poll (or the final one) catches up.
    }
    await log.flush();
  };
  while (!settled) {
    await Promise.race([running.then(noop, noop), sleep(POLL_MS)]);
    await pull();
  }
  await pull();
  log.endStreams();
  await log.flush();
  return running;
}

function noop(): void {}
