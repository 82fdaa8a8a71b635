import { randomBytes } from 'node:crypto';

// An RFC 6455 frame as a client sends it (masked), written independently of
// the gateway's parser so the attack tests do not test that code with itself.

export function maskedFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const out = Buffer.alloc(2 + extended + 4 + length);
  out[0] = (fin ? 0x80 : 0) | opcode;
  out[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) out.writeUInt16BE(length, 2);
  if (extended === 8) out.writeBigUInt64BE(BigInt(length), 2);
  const key = randomBytes(4);
  key.copy(out, 2 + extended);
  const at = 2 + extended + 4;
  for (let i = 0; i < length; i++) out[at + i] = (payload[i] as number) ^ (key[i & 3] as number);
  return out;
}
