import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, type Frame, MAX_PAYLOAD, TunnelProtocolError } from './codec.ts';

const streamId = fc.integer({ min: 1, max: 0xffff_ffff });
const fin = fc.constantFrom(0, 1);
const jsonObject = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }) as fc.Arbitrary<
  Record<string, unknown>
>;
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constantFrom('hello' as const, 'welcome' as const),
    stream: fc.constant(0),
    flags: fc.constant(0),
    json: jsonObject,
  }),
  fc.record({ type: fc.constant('head' as const), stream: streamId, flags: fin, json: jsonObject }),
  fc.record({
    type: fc.constant('trailers' as const),
    stream: streamId,
    flags: fc.constant(1),
    json: jsonObject,
  }),
  fc.record({
    type: fc.constant('open' as const),
    stream: streamId,
    flags: fin,
    kind: fc.constantFrom('pty' as const, 'exec' as const, 'http' as const, 'port' as const, 'sign' as const),
    meta: jsonObject,
  }),
  fc.record({
    type: fc.constant('data' as const),
    stream: streamId,
    flags: fc.integer({ min: 0, max: 3 }),
    data: bytes(MAX_PAYLOAD),
  }),
  fc.record({
    type: fc.constant('window' as const),
    stream: streamId,
    flags: fc.constant(0),
    credit: fc.integer({ min: 1, max: 0xffff_ffff }),
  }),
  fc.record({
    type: fc.constant('resize' as const),
    stream: streamId,
    flags: fc.constant(0),
    cols: fc.integer({ min: 0, max: 0xffff }),
    rows: fc.integer({ min: 0, max: 0xffff }),
  }),
  fc.record({
    type: fc.constant('signal' as const),
    stream: streamId,
    flags: fc.constant(0),
    signal: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    type: fc.constant('exit' as const),
    stream: streamId,
    flags: fc.constant(1),
    code: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
    signal: fc.integer({ min: 0, max: 255 }),
    timedOut: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('reset' as const),
    stream: streamId,
    flags: fc.constant(0),
    code: fc.integer({ min: 0, max: 0xffff }),
    message: fc.string(),
  }),
  fc.record({
    type: fc.constant('close' as const),
    stream: fc.constant(0),
    flags: fc.constant(0),
    code: fc.integer({ min: 0, max: 0xffff }),
    message: fc.string(),
  }),
  fc.record({
    type: fc.constantFrom('ping' as const, 'pong' as const),
    stream: fc.constant(0),
    flags: fc.constant(0),
    opaque: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  }),
);

/** JSON has no -0 and drops undefined; compare frames the way they travel. */
const normal = (f: Frame) => JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? [...v] : v)));

describe('tunnel codec properties', () => {
  it('decode(encode(frame)) == frame', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(normal(decodeFrame(encodeFrame(f)))).toEqual(normal(f));
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary bytes decode or throw only TunnelProtocolError', () => {
    fc.assert(
      fc.property(bytes(300), (b) => {
        try {
          decodeFrame(b);
        } catch (e) {
          expect(e).toBeInstanceOf(TunnelProtocolError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid frames decode or throw only TunnelProtocolError', () => {
    fc.assert(
      fc.property(frame, fc.nat(), fc.integer({ min: 0, max: 255 }), (f, at, value) => {
        const b = encodeFrame(f).slice(0, 2000);
        b[at % b.length] = value;
        try {
          decodeFrame(b);
        } catch (e) {
          expect(e).toBeInstanceOf(TunnelProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
