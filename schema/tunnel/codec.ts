// Binary frame codec for the Airlock tunnel (PROTOCOL.md §2–§3). Web-standard only: runs in
// workerd (the SessionGateway DO) and in Node tests alike.

export const HEADER_SIZE = 10;
export const MAX_PAYLOAD = 65_536;

export const Flag = { FIN: 0x01, STDERR: 0x02 } as const;

export const FrameType = {
  hello: 0x01,
  welcome: 0x02,
  open: 0x03,
  data: 0x04,
  window: 0x05,
  head: 0x06,
  trailers: 0x07,
  resize: 0x08,
  signal: 0x09,
  exit: 0x0a,
  reset: 0x0b,
  close: 0x0c,
  ping: 0x0d,
  pong: 0x0e,
} as const;
export type FrameTypeName = keyof typeof FrameType;

export const StreamKind = { pty: 1, exec: 2, http: 3, port: 4, sign: 5 } as const;
export type StreamKindName = keyof typeof StreamKind;

export const CloseCode = {
  NORMAL: 0,
  PROTOCOL_ERROR: 1,
  FRAME_TOO_LARGE: 2,
  UNKNOWN_TYPE: 3,
  FLOW_CONTROL: 4,
  STREAM_IN_USE: 5,
  UNSUPPORTED_VERSION: 6,
  AUTH_FAILED: 7,
  GOING_AWAY: 8,
  SESSION_ENDED: 9,
  TIMEOUT: 10,
  CANCEL: 100,
  REFUSED: 101,
  CONNECT_FAILED: 102,
  UPSTREAM_ERROR: 103,
  DENIED: 104,
  CONNECTION_LOST: 105,
  SPAWN_FAILED: 106,
  INTERNAL: 107,
  LIMIT: 108,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const DecodeErrorCode = {
  TRUNCATED: 'TRUNCATED',
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  UNKNOWN_KIND: 'UNKNOWN_KIND',
  BAD_STREAM: 'BAD_STREAM',
  BAD_FLAGS: 'BAD_FLAGS',
  BAD_PAYLOAD: 'BAD_PAYLOAD',
} as const;
export type DecodeErrorCode = (typeof DecodeErrorCode)[keyof typeof DecodeErrorCode];

/** The only error the codec throws. `closeCode` is what to send in CLOSE before hanging up. */
export class TunnelProtocolError extends Error {
  readonly code: DecodeErrorCode;
  readonly closeCode: CloseCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TunnelProtocolError';
    this.code = code;
    this.closeCode =
      code === 'FRAME_TOO_LARGE'
        ? CloseCode.FRAME_TOO_LARGE
        : code === 'UNKNOWN_TYPE'
          ? CloseCode.UNKNOWN_TYPE
          : CloseCode.PROTOCOL_ERROR;
  }
}

export type JsonObject = { [key: string]: unknown };

interface Base {
  stream: number;
  flags: number;
}
export type Frame =
  | (Base & { type: 'hello' | 'welcome' | 'head' | 'trailers'; json: JsonObject })
  | (Base & { type: 'open'; kind: StreamKindName; meta: JsonObject })
  | (Base & { type: 'data'; data: Uint8Array })
  | (Base & { type: 'window'; credit: number })
  | (Base & { type: 'resize'; cols: number; rows: number })
  | (Base & { type: 'signal'; signal: number })
  | (Base & { type: 'exit'; code: number; signal: number; timedOut: boolean })
  | (Base & { type: 'reset' | 'close'; code: number; message: string })
  | (Base & { type: 'ping' | 'pong'; opaque: Uint8Array });

const CONNECTION_TYPES: ReadonlySet<FrameTypeName> = new Set(['hello', 'welcome', 'close', 'ping', 'pong']);
const FIN_ALLOWED: ReadonlySet<FrameTypeName> = new Set(['open', 'data', 'head', 'trailers', 'exit']);
const FIN_REQUIRED: ReadonlySet<FrameTypeName> = new Set(['trailers', 'exit']);
const TYPE_BY_CODE = new Map<number, FrameTypeName>(
  Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]),
);
const KIND_BY_CODE = new Map<number, StreamKindName>(
  Object.entries(StreamKind).map(([name, code]) => [code, name as StreamKindName]),
);
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8Encoder = new TextEncoder();

function fail(code: DecodeErrorCode, message: string): never {
  throw new TunnelProtocolError(code, message);
}

function checkHeader(type: FrameTypeName, stream: number, flags: number): void {
  if (CONNECTION_TYPES.has(type) !== (stream === 0)) {
    fail('BAD_STREAM', `${type} on stream ${stream}`);
  }
  const allowed = (FIN_ALLOWED.has(type) ? Flag.FIN : 0) | (type === 'data' ? Flag.STDERR : 0);
  if ((flags & ~allowed) !== 0) fail('BAD_FLAGS', `flags 0x${flags.toString(16)} not allowed on ${type}`);
  if (FIN_REQUIRED.has(type) && (flags & Flag.FIN) === 0) fail('BAD_FLAGS', `${type} requires FIN`);
}

function parseJsonObject(bytes: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    fail('BAD_PAYLOAD', 'payload is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('BAD_PAYLOAD', 'JSON payload is not an object');
  }
  return value as JsonObject;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    fail('BAD_PAYLOAD', 'message is not UTF-8');
  }
}

function expectSize(type: FrameTypeName, payload: Uint8Array, size: number): void {
  if (payload.length !== size) fail('BAD_PAYLOAD', `${type} payload must be ${size} bytes`);
}

/**
 * Decode exactly one frame (one WebSocket binary message). Throws only TunnelProtocolError.
 * A DATA frame's `data` is a view into `bytes` (which the caller must not reuse).
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < HEADER_SIZE) fail('TRUNCATED', `need ${HEADER_SIZE} header bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stream = view.getUint32(0);
  const typeCode = view.getUint8(4);
  const flags = view.getUint8(5);
  const length = view.getUint32(6);
  if (length > MAX_PAYLOAD) fail('FRAME_TOO_LARGE', `payload length ${length} > ${MAX_PAYLOAD}`);
  const type = TYPE_BY_CODE.get(typeCode);
  if (type === undefined) fail('UNKNOWN_TYPE', `frame type 0x${typeCode.toString(16)}`);
  if (bytes.length < HEADER_SIZE + length) fail('TRUNCATED', `need ${length} payload bytes`);
  if (bytes.length > HEADER_SIZE + length) fail('LENGTH_MISMATCH', 'bytes after the payload');
  checkHeader(type, stream, flags);
  const payload = bytes.subarray(HEADER_SIZE);
  const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  switch (type) {
    case 'hello':
    case 'welcome':
    case 'head':
    case 'trailers':
      return { type, stream, flags, json: parseJsonObject(payload) };
    case 'open': {
      if (payload.length < 1) fail('BAD_PAYLOAD', 'open needs a kind byte');
      const kind = KIND_BY_CODE.get(pv.getUint8(0));
      if (kind === undefined) fail('UNKNOWN_KIND', `stream kind ${pv.getUint8(0)}`);
      return { type, stream, flags, kind, meta: parseJsonObject(payload.subarray(1)) };
    }
    case 'data':
      // A view, not a copy: the message is the caller's, and DATA is most of the traffic.
      return { type, stream, flags, data: payload };
    case 'window': {
      expectSize(type, payload, 4);
      const credit = pv.getUint32(0);
      if (credit === 0) fail('BAD_PAYLOAD', 'window credit must be > 0');
      return { type, stream, flags, credit };
    }
    case 'resize':
      expectSize(type, payload, 4);
      return { type, stream, flags, cols: pv.getUint16(0), rows: pv.getUint16(2) };
    case 'signal': {
      expectSize(type, payload, 1);
      const signal = pv.getUint8(0);
      if (signal < 1 || signal > 64) fail('BAD_PAYLOAD', `signal ${signal} out of range`);
      return { type, stream, flags, signal };
    }
    case 'exit': {
      expectSize(type, payload, 6);
      const timedOut = pv.getUint8(5);
      if (timedOut > 1) fail('BAD_PAYLOAD', 'timed-out byte must be 0 or 1');
      return { type, stream, flags, code: pv.getInt32(0), signal: pv.getUint8(4), timedOut: timedOut === 1 };
    }
    case 'reset':
    case 'close':
      if (payload.length < 2) fail('BAD_PAYLOAD', `${type} needs a code`);
      return { type, stream, flags, code: pv.getUint16(0), message: decodeText(payload.subarray(2)) };
    case 'ping':
    case 'pong':
      expectSize(type, payload, 8);
      return { type, stream, flags, opaque: payload.slice() };
  }
}

function jsonBytes(value: JsonObject): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value));
}

function checkRange(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) fail('BAD_PAYLOAD', `${what} out of range`);
}

function encodePayload(frame: Frame): Uint8Array {
  switch (frame.type) {
    case 'hello':
    case 'welcome':
    case 'head':
    case 'trailers':
      return jsonBytes(frame.json);
    case 'open': {
      const meta = jsonBytes(frame.meta);
      const out = new Uint8Array(1 + meta.length);
      out[0] = StreamKind[frame.kind];
      out.set(meta, 1);
      return out;
    }
    case 'data':
      return frame.data;
    case 'window': {
      checkRange(frame.credit, 1, 0xffff_ffff, 'credit');
      const out = new Uint8Array(4);
      new DataView(out.buffer).setUint32(0, frame.credit);
      return out;
    }
    case 'resize': {
      checkRange(frame.cols, 0, 0xffff, 'cols');
      checkRange(frame.rows, 0, 0xffff, 'rows');
      const out = new Uint8Array(4);
      const v = new DataView(out.buffer);
      v.setUint16(0, frame.cols);
      v.setUint16(2, frame.rows);
      return out;
    }
    case 'signal':
      checkRange(frame.signal, 1, 64, 'signal');
      return Uint8Array.of(frame.signal);
    case 'exit': {
      checkRange(frame.code, -0x8000_0000, 0x7fff_ffff, 'exit code');
      checkRange(frame.signal, 0, 0xff, 'exit signal');
      const out = new Uint8Array(6);
      const v = new DataView(out.buffer);
      v.setInt32(0, frame.code);
      v.setUint8(4, frame.signal);
      v.setUint8(5, frame.timedOut ? 1 : 0);
      return out;
    }
    case 'reset':
    case 'close': {
      checkRange(frame.code, 0, 0xffff, 'code');
      const text = utf8Encoder.encode(frame.message);
      const out = new Uint8Array(2 + text.length);
      new DataView(out.buffer).setUint16(0, frame.code);
      out.set(text, 2);
      return out;
    }
    case 'ping':
    case 'pong':
      if (frame.opaque.length !== 8) fail('BAD_PAYLOAD', `${frame.type} payload must be 8 bytes`);
      return frame.opaque;
  }
}

/** Encode one frame; throws TunnelProtocolError for frames the decoder would reject. */
export function encodeFrame(frame: Frame): Uint8Array {
  checkRange(frame.stream, 0, 0xffff_ffff, 'stream id');
  checkRange(frame.flags, 0, 0xff, 'flags');
  checkHeader(frame.type, frame.stream, frame.flags);
  const payload = encodePayload(frame);
  if (payload.length > MAX_PAYLOAD) fail('FRAME_TOO_LARGE', `payload length ${payload.length}`);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, frame.stream);
  view.setUint8(4, FrameType[frame.type]);
  view.setUint8(5, frame.flags);
  view.setUint32(6, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}
