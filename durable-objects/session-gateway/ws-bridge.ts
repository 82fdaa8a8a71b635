import { CloseCode, type HeaderList } from '@airlock/schema/tunnel';
import type { UpstreamHead } from './inject.ts';
import { responseHeaders } from './inject.ts';
import type { GatewayLog } from './log.ts';
import type { TunnelStream } from './stream.ts';
import { acceptKey, closePayload, encodeWsFrame, Opcode, WsFrameError, WsFrameParser } from './ws-frames.ts';

// A WebSocket upgrade through the tunnel (PROTOCOL.md §5.3): the sandbox's
// client speaks RFC 6455 bytes over the stream; the gateway terminates that
// framing and relays messages to the upstream WebSocket it opened with fetch()
// (same host pinning and credential placement as any brokered request).

export interface BridgeInput {
  readonly stream: TunnelStream;
  readonly head: UpstreamHead;
  readonly requestHeaders: HeaderList;
  readonly credential: string | null;
  readonly log: GatewayLog;
}

export interface BridgeOutcome {
  readonly status: number;
  /** Message bytes upstream → sandbox. */
  readonly bytesIn: number;
  /** Message bytes sandbox → upstream. */
  readonly bytesOut: number;
}

/** Bytes queued towards a sandbox that stopped reading, past which the bridge gives up. */
const MAX_PENDING_TO_SANDBOX = 8 * 1024 * 1024;

function header(headers: HeaderList, name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

export async function bridgeWebSocket(input: BridgeInput): Promise<BridgeOutcome> {
  const { stream, head } = input;
  const key = header(input.requestHeaders, 'sec-websocket-key');
  const url = new URL(head.url);
  if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol === 'ws:') url.protocol = 'http:';
  const headers = new Headers(head.headers);
  for (const name of ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'])
    headers.delete(name);
  headers.set('upgrade', 'websocket');
  let response: Response;
  try {
    response = await fetch(url, { headers });
  } catch (error) {
    stream.reset(CloseCode.UPSTREAM_ERROR, `upstream WebSocket failed: ${String(error).slice(0, 120)}`);
    return { status: 502, bytesIn: 0, bytesOut: 0 };
  }
  const upstream = response.webSocket;
  if (response.status !== 101 || upstream === null || key === undefined) {
    const text = new TextEncoder().encode(await response.text().catch(() => ''));
    stream.head(
      {
        status: response.status === 101 ? 502 : response.status,
        headers: responseHeaders(response.headers, input.credential),
      },
      false,
    );
    await stream.write(text, { fin: true }).catch(() => {});
    return { status: response.status, bytesIn: text.length, bytesOut: 0 };
  }
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

function relay(input: BridgeInput, upstream: WebSocket): Promise<BridgeOutcome> {
  const { stream } = input;
  const parser = new WsFrameParser(true);
  let bytesIn = 0;
  let bytesOut = 0;
  let pending = 0;
  let chain = Promise.resolve();
  let fragments: { opcode: number; parts: Uint8Array[]; size: number } | null = null;
  let closing = false;
  return new Promise<BridgeOutcome>((resolve) => {
    const done = () => resolve({ status: 101, bytesIn, bytesOut });
    const toSandbox = (frame: Uint8Array, fin = false) => {
      pending += frame.length;
      if (pending > MAX_PENDING_TO_SANDBOX) {
        stream.reset(CloseCode.CANCEL, 'the sandbox stopped reading the WebSocket');
        upstream.close(1009, 'client too slow');
        return;
      }
      chain = chain
        .then(() => stream.write(frame, { fin }))
        .then(() => {
          pending -= frame.length;
        })
        .catch(() => {});
    };
    const closeBoth = (code: number, reason: string) => {
      if (closing) return;
      closing = true;
      toSandbox(encodeWsFrame(Opcode.close, closePayload(code, reason)), true);
      try {
        upstream.close(code === 1005 ? 1000 : code, reason);
      } catch {
        // already closed
      }
      void chain.then(done);
    };
    upstream.addEventListener('message', (event) => {
      const data = event.data;
      const payload =
        typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data as ArrayBuffer);
      bytesIn += payload.length;
      toSandbox(encodeWsFrame(typeof data === 'string' ? Opcode.text : Opcode.binary, payload));
    });
    upstream.addEventListener('close', (event) => closeBoth(event.code || 1000, event.reason));
    upstream.addEventListener('error', () => closeBoth(1011, 'upstream error'));
    stream.handler = {
      data: (bytes, _stderr, fin) => {
        try {
          for (const frame of parser.push(bytes)) {
            if (frame.opcode === Opcode.ping) toSandbox(encodeWsFrame(Opcode.pong, frame.payload));
            else if (frame.opcode === Opcode.close) {
              const view = new DataView(
                frame.payload.buffer,
                frame.payload.byteOffset,
                frame.payload.byteLength,
              );
              const code = frame.payload.length >= 2 ? view.getUint16(0) : 1000;
              closeBoth(code, new TextDecoder().decode(frame.payload.subarray(2)));
            } else if (frame.opcode === Opcode.pong) {
              // unsolicited pong: nothing to do
            } else {
              if (frame.opcode !== Opcode.continuation)
                fragments = { opcode: frame.opcode, parts: [], size: 0 };
              if (fragments === null) throw new WsFrameError(1002, 'continuation without a message');
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
        } catch (error) {
          closeBoth(error instanceof WsFrameError ? error.closeCode : 1011, 'bad frame from the client');
        }
        stream.consumed(bytes.length);
        if (fin) closeBoth(1000, 'client went away');
      },
      reset: () => {
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
