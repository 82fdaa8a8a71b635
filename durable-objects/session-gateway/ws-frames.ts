import { ByteQueue } from './byte-queue.ts';

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

/** Largest frame the parser takes at all (the bridge applies the configured message size). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

interface Header {
  readonly fin: boolean;
  readonly opcode: number;
  readonly length: number;
  readonly mask: Uint8Array | null;
  /** Header bytes, mask included. */
  readonly size: number;
}

/**
 * Incremental parser: feed bytes as they arrive, take complete frames out. Each payload byte is
 * copied once, into its frame, when the frame is complete: a big frame arriving in many small
 * pieces costs its size, not its size per piece (ADR 0115).
 */
export class WsFrameParser {
  readonly #queue = new ByteQueue();
  readonly #expectMasked: boolean;
  readonly #maxFrame: number;

  constructor(expectMasked: boolean, maxFrame = MAX_FRAME_BYTES) {
    this.#expectMasked = expectMasked;
    this.#maxFrame = maxFrame;
  }

  /** Bytes received and not yet returned in a frame. */
  get buffered(): number {
    return this.#queue.length;
  }

  push(bytes: Uint8Array): WsFrame[] {
    this.#queue.push(bytes);
    const frames: WsFrame[] = [];
    for (;;) {
      const header = this.#header();
      if (header === null || this.#queue.length < header.size + header.length) break;
      this.#queue.take(header.size, null);
      const payload = new Uint8Array(header.length);
      this.#queue.take(header.length, payload);
      if (header.mask !== null)
        for (let i = 0; i < payload.length; i++)
          payload[i] = (payload[i] as number) ^ (header.mask[i & 3] as number);
      frames.push({ fin: header.fin, opcode: header.opcode, payload });
    }
    return frames;
  }

  /** The next frame's header once its bytes are here: a frame's length is known before its payload. */
  #header(): Header | null {
    if (this.#queue.length < 2) return null;
    const head = this.#queue.peek(14);
    const b0 = head[0] as number;
    const b1 = head[1] as number;
    if ((b0 & 0x70) !== 0) throw new WsFrameError(1002, 'reserved bits set');
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#expectMasked)
      throw new WsFrameError(1002, masked ? 'unexpected mask' : 'unmasked frame');
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    let size = 2;
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (length === 126) {
      if (head.length < 4) return null;
      length = view.getUint16(2);
      size = 4;
    } else if (length === 127) {
      if (head.length < 10) return null;
      const big = view.getBigUint64(2);
      if (big > BigInt(this.#maxFrame)) throw new WsFrameError(1009, 'frame too large');
      length = Number(big);
      size = 10;
    }
    if (length > this.#maxFrame) throw new WsFrameError(1009, 'frame too large');
    if (opcode >= 8 && (length > 125 || (b0 & 0x80) === 0)) throw new WsFrameError(1002, 'bad control frame');
    let mask: Uint8Array | null = null;
    if (masked) {
      if (head.length < size + 4) return null;
      mask = head.slice(size, size + 4);
      size += 4;
    }
    return { fin: (b0 & 0x80) !== 0, opcode, length, mask, size };
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
