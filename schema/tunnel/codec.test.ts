import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type Frame, TunnelProtocolError } from './codec.ts';

interface VectorFile {
  valid: { name: string; hex: string; frame: Record<string, unknown> }[];
  invalid: { name: string; hex: string; error: string }[];
}

const dir = join(import.meta.dirname, 'vectors');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** The vectors spell binary fields as hex; frames carry Uint8Array. */
function toVector(frame: Frame): Record<string, unknown> {
  if (frame.type === 'data') return { ...frame, data: toHex(frame.data) };
  if (frame.type === 'ping' || frame.type === 'pong') return { ...frame, opaque: toHex(frame.opaque) };
  return { ...frame };
}
function fromVector(v: Record<string, unknown>): Frame {
  if (v.type === 'data') return { ...v, data: fromHex(String(v.data)) } as Frame;
  if (v.type === 'ping' || v.type === 'pong') return { ...v, opaque: fromHex(String(v.opaque)) } as Frame;
  return v as unknown as Frame;
}
const isJsonType = (t: unknown) => ['hello', 'welcome', 'head', 'trailers', 'open'].includes(String(t));

describe('tunnel codec vectors', () => {
  it('finds the vector files', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });
  for (const file of files) {
    const vectors = JSON.parse(readFileSync(join(dir, file), 'utf8')) as VectorFile;
    describe(file, () => {
      for (const v of vectors.valid) {
        it(`decodes: ${v.name}`, () => {
          expect(toVector(decodeFrame(fromHex(v.hex)))).toEqual(v.frame);
        });
        it(`encodes: ${v.name}`, () => {
          const bytes = encodeFrame(fromVector(v.frame));
          expect(toVector(decodeFrame(bytes))).toEqual(v.frame);
          if (!isJsonType(v.frame.type)) expect(toHex(bytes)).toBe(v.hex);
        });
      }
      for (const v of vectors.invalid) {
        it(`rejects with ${v.error}: ${v.name}`, () => {
          let caught: unknown;
          try {
            decodeFrame(fromHex(v.hex));
          } catch (e) {
            caught = e;
          }
          expect(caught).toBeInstanceOf(TunnelProtocolError);
          expect((caught as TunnelProtocolError).code).toBe(v.error);
        });
      }
    });
  }
});
