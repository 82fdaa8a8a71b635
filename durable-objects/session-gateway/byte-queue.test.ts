import { describe, expect, it } from 'vitest';
import { ByteQueue } from './byte-queue.ts';

// Sandbox bytes waiting in the gateway: order kept, nothing lost, and tiny
// pieces packed into blocks so a queue costs about what it holds (ADR 0115).

function drain(queue: ByteQueue): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let chunk = queue.shiftChunk(); chunk !== null; chunk = queue.shiftChunk()) chunks.push(chunk);
  return chunks;
}

describe('ByteQueue', () => {
  it('packs 64 KiB of one-byte pieces into a few blocks, in order', () => {
    const queue = new ByteQueue();
    for (let i = 0; i < 65_536; i++) queue.push(Uint8Array.of(i & 0xff));
    expect(queue.length).toBe(65_536);
    const chunks = drain(queue);
    expect(chunks.length).toBeLessThanOrEqual(4);
    const all = chunks.flatMap((c) => [...c]);
    expect(all.length).toBe(65_536);
    expect(all.every((b, i) => b === (i & 0xff))).toBe(true);
    expect(queue.length).toBe(0);
  });

  it('keeps big pieces as they came, and takes bytes across pieces', () => {
    const queue = new ByteQueue();
    const big = new Uint8Array(8192).fill(7);
    queue.push(Uint8Array.of(1, 2));
    queue.push(big);
    queue.push(Uint8Array.of(3));
    expect([...queue.peek(4)]).toEqual([1, 2, 7, 7]);
    const into = new Uint8Array(3);
    queue.take(3, into);
    expect([...into]).toEqual([1, 2, 7]);
    const [rest, last] = drain(queue);
    expect(rest?.length).toBe(8191);
    expect(rest?.buffer).toBe(big.buffer);
    expect([...(last ?? [])]).toEqual([3]);
  });

  it('does not append to a block already handed out', () => {
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(1));
    const first = queue.shiftChunk();
    queue.push(Uint8Array.of(2));
    expect([...(first ?? [])]).toEqual([1]);
    expect([...(queue.shiftChunk() ?? [])]).toEqual([2]);
  });
});
