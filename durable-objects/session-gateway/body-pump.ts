import { MAX_PAYLOAD } from '@airlock/schema/tunnel';
import type { TunnelStream } from './stream.ts';
import type { TunnelBudget } from './tunnel-budget.ts';

// A response body onto a tunnel stream. fetch() hands out small chunks (4 KiB
// in workerd); sending each as its own frame would lock the transfer into one
// credit round trip per 4 KiB. A reader runs ahead into a bounded queue and
// the writer sends what has accumulated as frames of up to 64 KiB, waiting at
// most COALESCE_MS for a partial frame to fill, so frames (and the credit
// coming back for them) stay large even when credit is ample.
//
// One frame's worth is always read; beyond it the read-ahead comes out of the
// tunnel's budget (ADR 0115), so a sandbox that stalls a hundred downloads
// makes the gateway hold a hundred frames, not a hundred read-aheads.

/** Read-ahead bound per stream: what a slow sandbox can make the gateway hold. */
const READ_AHEAD_BYTES = 256 * 1024;
/** Read ahead without asking the budget: one frame. */
const FREE = MAX_PAYLOAD;
/** Budget is taken (and given back) in steps of this size. */
const STEP = 64 * 1024;
/** How long a partial frame waits for more of the body (the latency a trickling stream pays). */
const COALESCE_MS = 1;

export async function pumpBody(
  body: ReadableStream<Uint8Array>,
  stream: TunnelStream,
  sent: (bytes: number) => void,
  budget: TunnelBudget,
): Promise<void> {
  const reader = body.getReader();
  const queue: Uint8Array[] = [];
  let queued = 0;
  /** Read-ahead taken from the tunnel's budget, beyond FREE. */
  let reserved = 0;
  const mayRead = () => {
    if (queued < FREE + reserved) return true;
    if (FREE + reserved >= READ_AHEAD_BYTES || !budget.tryReadAhead(STEP)) return false;
    reserved += STEP;
    return true;
  };
  const giveBack = () => {
    while (reserved > 0 && queued + STEP <= FREE + reserved) {
      budget.releaseReadAhead(STEP);
      reserved -= STEP;
    }
  };
  let ended = false;
  let failure: unknown = null;
  let wakeWriter: (() => void) | null = null;
  let wakeReader: (() => void) | null = null;
  const signal = (which: 'writer' | 'reader') => {
    const wake = which === 'writer' ? wakeWriter : wakeReader;
    if (which === 'writer') wakeWriter = null;
    else wakeReader = null;
    wake?.();
  };

  const reading = (async () => {
    try {
      for (;;) {
        while (!mayRead() && failure === null)
          await new Promise<void>((resolve) => {
            wakeReader = resolve;
          });
        if (failure !== null) return;
        const { done, value } = await reader.read();
        if (done) break;
        queue.push(value);
        queued += value.length;
        signal('writer');
      }
    } catch (error) {
      failure ??= error;
    } finally {
      ended = true;
      signal('writer');
    }
  })();

  const waitForReader = () =>
    new Promise<void>((resolve) => {
      wakeWriter = resolve;
    });
  try {
    for (;;) {
      while (queued === 0 && !ended) await waitForReader();
      if (queued < MAX_PAYLOAD && !ended && failure === null) {
        // More is usually right behind: give the reader a moment to fill a whole frame, so a
        // stream with ample credit does not go out as one frame (and one WINDOW back) per 4 KiB.
        let flush = false;
        const timer = setTimeout(() => {
          flush = true;
          signal('writer');
        }, COALESCE_MS);
        while (queued < MAX_PAYLOAD && !ended && !flush && failure === null) await waitForReader();
        clearTimeout(timer);
      }
      if (failure !== null) throw failure;
      if (queued === 0 && ended) break;
      const size = Math.min(queued, MAX_PAYLOAD);
      const frame = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const head = queue[0] as Uint8Array;
        const take = Math.min(head.length, size - at);
        frame.set(head.subarray(0, take), at);
        at += take;
        if (take === head.length) queue.shift();
        else queue[0] = head.subarray(take);
      }
      queued -= size;
      giveBack();
      signal('reader');
      await stream.write(frame);
      sent(size);
    }
  } catch (error) {
    failure ??= error;
    signal('reader');
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    await reading;
    budget.releaseReadAhead(reserved);
    reserved = 0;
  }
}
