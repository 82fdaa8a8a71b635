import { CloseCode, Flag, type StreamKindName } from '@airlock/schema/tunnel';
import type { GatewayLog } from './log.ts';
import type { FrameSink } from './stream.ts';

// limits.tunnel_max_streams (ADR 0115, PROTOCOL.md §5.6): a sandbox may have so
// many requests open at once. Past it a request is answered at once — 429 with
// a text the agent can act on — and the gateway keeps nothing of it: the
// stream is never created, later frames for it are ignored as for any unknown
// stream (§5).

const encoder = new TextEncoder();
/** A sandbox hammering the limit must not flood the logs either. */
const LOG_EVERY_MS = 60_000;

export interface StreamLimitHost {
  readonly log: GatewayLog;
  readonly store: { settings(): { readonly tunnelMaxStreams: number } };
  now(): number;
}

export class StreamLimit {
  readonly #host: StreamLimitHost;
  readonly #counted: ReadonlySet<StreamKindName>;
  #loggedAt = Number.NEGATIVE_INFINITY;
  #refusedSinceLog = 0;

  /** `counted`: the kinds the sandbox opens (gateway-opened streams are not the sandbox's doing). */
  constructor(host: StreamLimitHost, counted: ReadonlySet<StreamKindName>) {
    this.#host = host;
    this.#counted = counted;
  }

  /**
   * Whether an OPEN is past the limit, given the live streams; if so it has been answered.
   * `fin`: the OPEN carried FIN (no body follows).
   */
  refuses(
    sink: FrameSink,
    streams: ReadonlyMap<number, { readonly kind: StreamKindName }>,
    open: { readonly id: number; readonly kind: StreamKindName; readonly fin: boolean },
  ): boolean {
    const max = this.#host.store.settings().tunnelMaxStreams;
    let live = 0;
    for (const s of streams.values()) if (this.#counted.has(s.kind)) live++;
    if (live < max) return false;
    this.#refuse(sink, open.id, open.kind, open.fin, max);
    return true;
  }

  #refuse(sink: FrameSink, id: number, kind: StreamKindName, fin: boolean, max: number): void {
    const message =
      `Airlock: this sandbox already has ${max} requests open through its gateway, the most one ` +
      `session may have (limits.tunnel_max_streams). Retry once some of them finish.`;
    if (kind === 'http') {
      const body = encoder.encode(`${message}\n`);
      sink.send({
        type: 'head',
        stream: id,
        flags: 0,
        json: {
          status: 429,
          headers: [
            ['content-type', 'text/plain; charset=utf-8'],
            ['content-length', String(body.length)],
            ['retry-after', '1'],
            ['x-airlock-decision', 'limit'],
          ],
        },
      });
      // Within the first window: the sandbox always has room for it.
      sink.send({ type: 'data', stream: id, flags: Flag.FIN, data: body });
    }
    // A body still to come is not wanted: the stream ends here (after the answer, for http).
    if (kind !== 'http' || !fin)
      sink.send({
        type: 'reset',
        stream: id,
        flags: 0,
        code: CloseCode.LIMIT,
        message: message.slice(0, 200),
      });
    this.#refusedSinceLog++;
    const now = this.#host.now();
    if (now - this.#loggedAt >= LOG_EVERY_MS) {
      this.#host.log.warn('stream limit reached; requests refused', { max, refused: this.#refusedSinceLog });
      this.#loggedAt = now;
      this.#refusedSinceLog = 0;
    }
  }
}
