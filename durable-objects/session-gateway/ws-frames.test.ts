import { describe, expect, it } from 'vitest';
import { encodeWsFrame, Opcode, WsFrameError, WsFrameParser } from './ws-frames.ts';

// The gateway's RFC 6455 parser for what a sandbox's WebSocket client sends:
// frames come out whole however the bytes were cut, a frame bigger than the
// limit is refused from its header alone, and a big frame arriving in many
// pieces costs its size, not its size per piece (ADR 0115).

const MiB = 1024 * 1024;

function feed(parser: WsFrameParser, bytes: Uint8Array, piece: number) {
  const frames = [];
  for (let at = 0; at < bytes.length; at += piece)
    frames.push(...parser.push(bytes.subarray(at, at + piece)));
  return frames;
}

describe('WsFrameParser', () => {
  it('returns the same frames whatever the pieces (one byte each, odd sizes, all at once)', () => {
    const payloads = [new Uint8Array(0), new Uint8Array(125).fill(1), new Uint8Array(300).fill(2)];
    const wire = new Uint8Array(
      payloads.flatMap((p, i) => [...encodeWsFrame(i === 0 ? Opcode.ping : Opcode.binary, p, true)]),
    );
    for (const piece of [1, 3, 7, 64, wire.length]) {
      const frames = feed(new WsFrameParser(true), wire, piece);
      expect(frames.map((f) => [f.opcode, f.payload.length, f.payload[0]])).toEqual([
        [Opcode.ping, 0, undefined],
        [Opcode.binary, 125, 1],
        [Opcode.binary, 300, 2],
      ]);
    }
  });

  it('refuses a frame over the limit from its header, before holding its payload', () => {
    const parser = new WsFrameParser(true, MiB);
    const header = encodeWsFrame(Opcode.binary, new Uint8Array(MiB + 1), true).subarray(0, 14);
    expect(() => parser.push(header)).toThrowError(WsFrameError);
    expect(parser.buffered).toBe(14);
  });

  it('parses a 12 MiB frame arriving in 4 KiB pieces in one pass (a re-joining parser took ~2 min)', () => {
    const size = 12 * MiB;
    const wire = encodeWsFrame(Opcode.binary, new Uint8Array(size).fill(9), true);
    const parser = new WsFrameParser(true, 16 * MiB);
    const started = Date.now();
    const frames = feed(parser, wire, 4096);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(frames.map((f) => f.payload.length)).toEqual([size]);
    expect(frames[0]?.payload[size - 1]).toBe(9);
    expect(parser.buffered).toBe(0);
  });
});
