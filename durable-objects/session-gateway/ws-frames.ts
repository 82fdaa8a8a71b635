// RFC 6455 framing, just enough to terminate a sandbox client's WebSocket in
// the gateway: the tunnel carries the upgraded connection's raw bytes, while
// Workers reach the upstream through fetch() WebSockets, which deal in
// messages. Extensions are never negotiated (the gateway drops
// Sec-WebSocket-Extensions), so RSV bits must be clear.

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

export class WsFrameError extends Error {
  /** Close code to send (1002 protocol error, 1009 too big). */
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = 'WsFrameError';
    this.closeCode = closeCode;
  }
}

export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Incremental parser: feed bytes as they arrive, take complete frames out. */
export class WsFrameParser {
  #buffer = new Uint8Array(0);
  readonly #expectMasked: boolean;

  constructor(expectMasked: boolean) {
    this.#expectMasked = expectMasked;
  }

  push(bytes: Uint8Array): WsFrame[] {
    const joined = new Uint8Array(this.#buffer.length + bytes.length);
    joined.set(this.#buffer);
    joined.set(bytes, this.#buffer.length);
    const frames: WsFrame[] = [];
    let offset = 0;
    for (;;) {
      const frame = this.#parseOne(joined, offset);
      if (frame === null) break;
      frames.push(frame.frame);
      offset = frame.next;
    }
    this.#buffer = joined.slice(offset);
    return frames;
  }

  #parseOne(bytes: Uint8Array, at: number): { frame: WsFrame; next: number } | null {
    if (bytes.length - at < 2) return null;
    const b0 = bytes[at] as number;
    const b1 = bytes[at + 1] as number;
    if ((b0 & 0x70) !== 0) throw new WsFrameError(1002, 'reserved bits set');
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#expectMasked)
      throw new WsFrameError(1002, masked ? 'unexpected mask' : 'unmasked frame');
    let length = b1 & 0x7f;
    let cursor = at + 2;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (length === 126) {
      if (bytes.length - cursor < 2) return null;
      length = view.getUint16(cursor);
      cursor += 2;
    } else if (length === 127) {
      if (bytes.length - cursor < 8) return null;
      const big = view.getBigUint64(cursor);
      if (big > BigInt(MAX_MESSAGE_BYTES)) throw new WsFrameError(1009, 'frame too large');
      length = Number(big);
      cursor += 8;
    }
    if (length > MAX_MESSAGE_BYTES) throw new WsFrameError(1009, 'frame too large');
    const opcode = b0 & 0x0f;
    if (opcode >= 8 && (length > 125 || (b0 & 0x80) === 0)) throw new WsFrameError(1002, 'bad control frame');
    const maskAt = cursor;
    if (masked) cursor += 4;
    if (bytes.length - cursor < length) return null;
    const payload = bytes.slice(cursor, cursor + length);
    if (masked)
      for (let i = 0; i < payload.length; i++)
        payload[i] = (payload[i] as number) ^ (bytes[maskAt + (i % 4)] as number);
    return { frame: { fin: (b0 & 0x80) !== 0, opcode, payload }, next: cursor + length };
  }
}

/** One frame; `mask` for the client side (tests), never for the gateway's frames to the sandbox. */
export function encodeWsFrame(opcode: number, payload: Uint8Array, mask = false, fin = true): Uint8Array {
  const extended = payload.length < 126 ? 0 : payload.length < 65_536 ? 2 : 8;
  const header = 2 + extended + (mask ? 4 : 0);
  const out = new Uint8Array(header + payload.length);
  const view = new DataView(out.buffer);
  out[0] = (fin ? 0x80 : 0) | opcode;
  const lengthByte = extended === 0 ? payload.length : extended === 2 ? 126 : 127;
  out[1] = (mask ? 0x80 : 0) | lengthByte;
  if (extended === 2) view.setUint16(2, payload.length);
  if (extended === 8) view.setBigUint64(2, BigInt(payload.length));
  if (mask) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    out.set(key, 2 + extended);
    for (let i = 0; i < payload.length; i++)
      out[header + i] = (payload[i] as number) ^ (key[i % 4] as number);
  } else {
    out.set(payload, header);
  }
  return out;
}

export function closePayload(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason.slice(0, 120));
  const out = new Uint8Array(2 + text.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(text, 2);
  return out;
}

/** `Sec-WebSocket-Accept` for a client's key (RFC 6455 §4.2.2). */
export async function acceptKey(key: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest(
      'SHA-1',
      new TextEncoder().encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`),
    ),
  );
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}
