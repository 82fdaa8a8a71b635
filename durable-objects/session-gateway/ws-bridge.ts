import { CloseCode, type HeaderList } from '@airlock/schema/tunnel';
import { pumpBody } from './body-pump.ts';
import type { UpstreamHead } from './inject.ts';
import { responseHeaders } from './inject.ts';
import type { GatewayLog } from './log.ts';
import { StreamClosedError, type TunnelStream } from './stream.ts';
import { MessageHold, type TunnelBudget } from './tunnel-budget.ts';
import { acceptKey, closePayload, encodeWsFrame, Opcode, WsFrameError, WsFrameParser } from './ws-frames.ts';

// A WebSocket upgrade through the tunnel (PROTOCOL.md §5.3): the sandbox's
// client speaks RFC 6455 bytes over the stream; the gateway terminates that
// framing and relays messages to and from the upstream WebSocket it opened with
// fetch() (same host pinning and credential placement as any brokered request).
// Redirects are never followed (the credential stays with the pinned host); an
// answer other than 101 is streamed back like any response. Messages are held
// whole in both directions, so they are bounded: by the message size, and all
// of a tunnel's together by its budget (ADR 0115).

export interface BridgeInput {
  readonly stream: TunnelStream;
  readonly head: UpstreamHead;
  readonly requestHeaders: HeaderList;
  readonly credential: string | null;
  readonly log: GatewayLog;
  readonly budget: TunnelBudget;
  /** limits.websocket_message_bytes. */
  readonly messageBytes: number;
}

export interface BridgeOutcome {
  readonly status: number;
  /** Message bytes upstream → sandbox (or the body of an answer other than 101). */
  readonly bytesIn: number;
  /** Message bytes sandbox → upstream. */
  readonly bytesOut: number;
}

const NO_BODY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);
/** How long a closed WebSocket waits for its client to hang up before the stream is reset. */
const DRAIN_MS = 5_000;
const TOO_BIG = 'message over limits.websocket_message_bytes';
const OVER_BUDGET = 'over limits.tunnel_buffer_bytes; try again later';
const encoder = new TextEncoder();

function header(headers: HeaderList, name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

function refuse(stream: TunnelStream, status: number, text: string): BridgeOutcome {
  const body = encoder.encode(text);
  stream.head(
    {
      status,
      headers: [
        ['content-type', 'text/plain; charset=utf-8'],
        ['content-length', String(body.length)],
      ],
    },
    false,
  );
  void stream.write(body, { fin: true }).catch(() => {});
  return { status, bytesIn: body.length, bytesOut: 0 };
}

export async function bridgeWebSocket(input: BridgeInput): Promise<BridgeOutcome> {
  const { stream, head } = input;
  const key = header(input.requestHeaders, 'sec-websocket-key');
  if (key === undefined) return refuse(stream, 400, 'Airlock: a WebSocket upgrade needs Sec-WebSocket-Key\n');
  const url = new URL(head.url);
  if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol === 'ws:') url.protocol = 'http:';
  const headers = new Headers(head.headers);
  for (const name of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'])
    headers.delete(name);
  headers.set('upgrade', 'websocket');
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: 'manual' });
  } catch (error) {
    stream.reset(CloseCode.UPSTREAM_ERROR, `upstream WebSocket failed: ${String(error).slice(0, 120)}`);
    return { status: 502, bytesIn: 0, bytesOut: 0 };
  }
  const upstream = response.webSocket;
  if (response.status !== 101 || upstream === null) return answer(input, response);
  upstream.binaryType = 'arraybuffer';
  upstream.accept();
  const accepted: HeaderList = [
    ['upgrade', 'websocket'],
    ['sec-websocket-accept', await acceptKey(key)],
  ];
  const protocol = response.headers.get('sec-websocket-protocol');
  if (protocol !== null) accepted.push(['sec-websocket-protocol', protocol]);
  stream.head({ status: 101, headers: accepted }, false);
  return relay(input, upstream);
}

/** The upstream did not switch protocols: its answer goes back as it comes, never buffered whole. */
async function answer(input: BridgeInput, response: Response): Promise<BridgeOutcome> {
  const { stream } = input;
  const status = response.status === 101 ? 502 : response.status;
  const noBody = response.body === null || NO_BODY_STATUS.has(status);
  stream.head({ status, headers: responseHeaders(response.headers, input.credential) }, noBody);
  if (noBody) {
    await response.body?.cancel().catch(() => {});
    return { status, bytesIn: 0, bytesOut: 0 };
  }
  let bytesIn = 0;
  try {
    await pumpBody(
      response.body as ReadableStream<Uint8Array>,
      stream,
      (n) => {
        bytesIn += n;
      },
      input.budget,
    );
    stream.finish();
  } catch (error) {
    if (!(error instanceof StreamClosedError))
      stream.reset(CloseCode.UPSTREAM_ERROR, 'the upstream response failed');
  }
  return { status, bytesIn, bytesOut: 0 };
}

function relay(input: BridgeInput, upstream: WebSocket): Promise<BridgeOutcome> {
  const { stream, budget, messageBytes } = input;
  const parser = new WsFrameParser(true, messageBytes);
  /** What the gateway holds of the sandbox's messages, and of messages waiting for the sandbox. */
  const inbound = new MessageHold(budget);
  const outbound = new MessageHold(budget);
  let bytesIn = 0;
  let bytesOut = 0;
  let pending = 0;
  let chain = Promise.resolve();
  let fragments: { opcode: number; parts: Uint8Array[]; size: number } | null = null;
  let closing = false;
  /** The sandbox's direction is over (FIN or reset): nothing more will come from it. */
  let sandboxDone = false;
  let drainTimer: ReturnType<typeof setTimeout> | null = null;
  return new Promise<BridgeOutcome>((resolve) => {
    const done = () => {
      if (drainTimer !== null) clearTimeout(drainTimer);
      inbound.release();
      outbound.release();
      resolve({ status: 101, bytesIn, bytesOut });
    };
    // Our close frame is out. Keep taking (and dropping) what the client still sends until it
    // hangs up too: the stream must not be forgotten with the sandbox's data stuck behind
    // credit that would never come, which would leave its client waiting for the TCP close.
    const drained = () => {
      if (sandboxDone) return done();
      drainTimer = setTimeout(() => {
        stream.reset(CloseCode.CANCEL, 'the WebSocket was closed');
        done();
      }, DRAIN_MS);
    };
    const toSandbox = (frame: Uint8Array, fin = false) => {
      // One whole message always fits (plus its header); more waits in the tunnel's budget.
      const room = pending + frame.length <= messageBytes + 16 && outbound.hold(pending + frame.length);
      if (!room) {
        closing = true;
        stream.reset(CloseCode.LIMIT, `the sandbox stopped reading this WebSocket; ${OVER_BUDGET}`);
        upstream.close(1013, 'client too slow');
        done();
        return;
      }
      pending += frame.length;
      chain = chain
        .then(() => stream.write(frame, { fin }))
        .then(() => {
          pending -= frame.length;
          outbound.hold(pending);
        })
        .catch(() => {});
    };
    const closeBoth = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      // What the sandbox sends from now on is dropped: what it sent so far is no longer held.
      fragments = null;
      inbound.release();
      toSandbox(encodeWsFrame(Opcode.close, closePayload(code, reason)), true);
      try {
        upstream.close(code === 1005 ? 1000 : code, reason);
      } catch {
        // already closed
      }
      void chain.then(drained);
    };
    upstream.addEventListener('message', (event) => {
      if (closing) return;
      const data = event.data;
      const payload = typeof data === 'string' ? encoder.encode(data) : new Uint8Array(data as ArrayBuffer);
      if (payload.length > messageBytes) return closeBoth(1009, TOO_BIG);
      bytesIn += payload.length;
      toSandbox(encodeWsFrame(typeof data === 'string' ? Opcode.text : Opcode.binary, payload));
    });
    upstream.addEventListener('close', (event) => closeBoth(event.code || 1000, event.reason));
    upstream.addEventListener('error', () => closeBoth(1011, 'upstream error'));
    const fromSandbox = (bytes: Uint8Array) => {
      for (const frame of parser.push(bytes)) {
        if (closing) return;
        if (frame.opcode === Opcode.ping) toSandbox(encodeWsFrame(Opcode.pong, frame.payload));
        else if (frame.opcode === Opcode.close) {
          // A client that sent its close frame sends nothing more (RFC 6455 §5.5.1): no drain.
          sandboxDone = true;
          const view = new DataView(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
          const code = frame.payload.length >= 2 ? view.getUint16(0) : 1000;
          closeBoth(code, new TextDecoder().decode(frame.payload.subarray(2)));
        } else if (frame.opcode !== Opcode.pong) {
          if (frame.opcode !== Opcode.continuation) fragments = { opcode: frame.opcode, parts: [], size: 0 };
          if (fragments === null) throw new WsFrameError(1002, 'continuation without a message');
          if (fragments.size + frame.payload.length > messageBytes) throw new WsFrameError(1009, TOO_BIG);
          fragments.parts.push(frame.payload);
          fragments.size += frame.payload.length;
          if (frame.fin) {
            const message = new Uint8Array(fragments.size);
            let at = 0;
            for (const part of fragments.parts) {
              message.set(part, at);
              at += part.length;
            }
            bytesOut += message.length;
            upstream.send(fragments.opcode === Opcode.text ? new TextDecoder().decode(message) : message);
            fragments = null;
          }
        }
      }
      // The frame being received and the message being assembled: within the message size (a
      // frame header aside) first, so one stream alone meets 1009, never 1013; then the budget.
      const held = parser.buffered + (fragments?.size ?? 0);
      if (held > messageBytes + 14) throw new WsFrameError(1009, TOO_BIG);
      if (!inbound.hold(held)) throw new WsFrameError(1013, OVER_BUDGET);
    };
    stream.handler = {
      data: (bytes, _stderr, fin) => {
        if (!closing)
          try {
            fromSandbox(bytes);
          } catch (error) {
            const code = error instanceof WsFrameError ? error.closeCode : 1011;
            closeBoth(
              code,
              code === 1009 ? TOO_BIG : code === 1013 ? OVER_BUDGET : 'bad frame from the client',
            );
          }
        stream.consumed(bytes.length);
        if (!fin) return;
        sandboxDone = true;
        if (closing) {
          if (drainTimer !== null) done();
        } else closeBoth(1000, 'client went away');
      },
      reset: () => {
        sandboxDone = true;
        closing = true;
        try {
          upstream.close(1001, 'client went away');
        } catch {
          // already closed
        }
        done();
      },
    };
  });
}
