import { evictDurableObject } from 'cloudflare:test';
import { MAX_UNACKED_BYTES } from '@airlock/schema/pty';
import { describe, expect, it } from 'vitest';
import { ptyToken, startSession } from './test-support/fixtures.ts';
import type { SandboxPeer } from './test-support/sandbox-peer.ts';
import { Viewer } from './test-support/viewer.ts';

// Terminals fanned out to viewers through the real edge route: several
// viewers, one writer, resize from the writer, scrollback replayed on attach
// (also after hibernation and eviction), and slow viewers that never hold up
// the PTY.

async function withTerminal(settings: { scrollbackBytes?: number } = {}) {
  const session = await startSession(() => [], { settings });
  const opened = await session.stub.openTerminal({
    key: 'agent',
    command: ['bash', '-l'],
    cols: 100,
    rows: 30,
  });
  if (!opened.ok) throw new Error(opened.message);
  await session.peer.until('pty open', () => session.peer.streams.has(opened.streamId));
  return { ...session, pty: opened.streamId };
}

const rw = (world: { sessionId: string; orgId: string; userId: string }) =>
  ptyToken({ ...world, profileId: '', versionId: '' }, 'rw');
const ro = (world: { sessionId: string; orgId: string; userId: string }) =>
  ptyToken({ ...world, profileId: '', versionId: '' }, 'ro');

async function typed(peer: SandboxPeer, pty: number, text: string) {
  await peer.until(`input ${JSON.stringify(text)}`, () => peer.input(pty).includes(text));
}

describe('terminal fan-out', () => {
  it('serves several viewers, one writer, resize from the writer, and replays the scrollback on attach', async () => {
    const { world, peer, pty } = await withTerminal();
    expect(peer.streams.get(pty)?.meta).toMatchObject({ command: ['bash', '-l'], cols: 100, rows: 30 });
    const alice = await Viewer.attach(world.sessionId, await rw(world));
    expect(alice.attached()).toMatchObject({
      writer: true,
      mode: 'rw',
      status: 'running',
      cols: 100,
      rows: 30,
      replay: 0,
    });
    await peer.output(pty, 'login banner\r\n$ ');
    await alice.until('banner', () => alice.text.includes('$ '));

    const bob = await Viewer.attach(world.sessionId, await ro(world));
    expect(bob.attached()).toMatchObject({ writer: false, mode: 'ro', replay: 16, viewers: 2 });
    await bob.until('replay', () => bob.text === 'login banner\r\n$ ');

    alice.type('ls\r');
    await typed(peer, pty, 'ls\r');
    bob.type('rm -rf /\r');
    await bob.until('read-only error', () => bob.last('error')?.code === 'READ_ONLY');
    expect(peer.input(pty)).not.toContain('rm -rf');

    const carol = await Viewer.attach(world.sessionId, await rw(world));
    expect(carol.attached().writer).toBe(false);
    carol.type('x');
    await carol.until('not writer', () => carol.last('error')?.code === 'NOT_WRITER');
    carol.send({ type: 'claim' });
    await carol.until('writer', () => carol.last('writer')?.writer === true);
    await alice.until('lost writer', () => alice.last('writer')?.writer === false);
    alice.send({ type: 'resize', cols: 10, rows: 10 });
    await alice.until('resize refused', () => alice.last('error')?.code === 'NOT_WRITER');
    carol.send({ type: 'resize', cols: 132, rows: 43 });
    await peer.until('RESIZE', () => (peer.streams.get(pty)?.resizes.length ?? 0) > 0);
    expect(peer.streams.get(pty)?.resizes).toEqual([{ cols: 132, rows: 43 }]);
    for (const viewer of [alice, bob, carol])
      await viewer.until('resize broadcast', () => viewer.last('resize')?.cols === 132);

    await peer.output(pty, 'file-a file-b\r\n');
    for (const viewer of [alice, bob, carol])
      await viewer.until('live output', () => viewer.text.endsWith('file-a file-b\r\n'));

    // The writer leaves: the longest-attached read-write viewer takes over.
    carol.close();
    await alice.until('writer again', () => alice.last('writer')?.writer === true);
    alice.type('exit\r');
    await typed(peer, pty, 'exit\r');
    peer.exit(pty, 0);
    for (const viewer of [alice, bob]) await viewer.until('exit', () => viewer.last('exit')?.code === 0);
    // Our FIN acknowledges the EXIT (PROTOCOL.md §5.1).
    await peer.until('FIN after EXIT', () => peer.streams.get(pty)?.fin === true);
  });

  it('keeps the scrollback bounded and replays the newest bytes to a late viewer', async () => {
    const { world, peer, pty, stub } = await withTerminal({ scrollbackBytes: 64 * 1024 });
    let written = '';
    for (let i = 0; i < 2_000; i++) written += `line ${String(i).padStart(5, '0')} ${'.'.repeat(80)}\r\n`;
    await peer.output(pty, written);
    await peer.until('output credited back', () => (peer.streams.get(pty)?.credit ?? 0) >= 64 * 1024);
    const late = await Viewer.attach(world.sessionId, await ro(world));
    const attached = late.attached();
    expect(attached.replay).toBeLessThanOrEqual(64 * 1024);
    expect(attached.replay).toBeGreaterThan(60 * 1024);
    expect(attached.trimmed + attached.replay).toBe(written.length);
    await late.until('replay', () => late.received === attached.replay);
    expect(written.endsWith(late.text)).toBe(true);
    const stored = await stub.scrollback('agent');
    expect(stored.total).toBe(written.length);
    expect(written.endsWith(stored.text)).toBe(true);
  });

  it('survives hibernation with viewers and the tunnel intact, and replays after eviction', async () => {
    const { world, peer, pty, stub } = await withTerminal();
    const viewer = await Viewer.attach(world.sessionId, await rw(world));
    await peer.output(pty, 'before sleep\r\n');
    await viewer.until('first output', () => viewer.text.includes('before sleep'));

    await evictDurableObject(stub, { webSockets: 'hibernate' });
    await peer.output(pty, 'after wake\r\n');
    await viewer.until('output after hibernation', () => viewer.text.includes('after wake'));
    viewer.type('pwd\r');
    await typed(peer, pty, 'pwd\r');
    const late = await Viewer.attach(world.sessionId, await ro(world));
    await late.until('replay across hibernation', () => late.text === 'before sleep\r\nafter wake\r\n');
    expect(late.attached().writer).toBe(false);

    // A full eviction closes every socket; the sandbox resumes its stream on a new connection.
    await evictDurableObject(stub, { webSockets: 'close' });
    await viewer.until('viewer closed', () => viewer.closed !== null);
    await peer.until('tunnel closed', () => peer.ws === null);
    await peer.dial(peer.resumeToken);
    expect(((peer.welcome?.streams ?? []) as { id: number }[]).map((s) => s.id)).toEqual([pty]);
    await peer.output(pty, 'after eviction\r\n');
    const back = await Viewer.attach(world.sessionId, await rw(world));
    await back.until(
      'replay across eviction',
      () => back.text === 'before sleep\r\nafter wake\r\nafter eviction\r\n',
    );
    expect(back.attached().writer).toBe(true);
  });

  it('skips a viewer that stops reading ahead, without slowing the PTY or other viewers', async () => {
    const { world, peer, pty } = await withTerminal({ scrollbackBytes: 256 * 1024 });
    const steady = await Viewer.attach(world.sessionId, await ro(world));
    const stuck = await Viewer.attach(world.sessionId, await ro(world));
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const total = 3 * MAX_UNACKED_BYTES;
    for (let sent = 0; sent < total; sent += chunk.length) {
      await peer.output(pty, chunk);
      steady.ack();
    }
    await steady.until('everything', () => steady.received === total);
    // The stuck viewer got at most its unacknowledged allowance; the PTY never waited for it.
    expect(stuck.received).toBeLessThanOrEqual(MAX_UNACKED_BYTES);
    expect(stuck.received).toBeGreaterThan(0);
    // It catches up on what it was sent, and is skipped ahead to the current screen.
    stuck.ack();
    await stuck.until('resync', () => stuck.last('resync') !== undefined);
    const resync = stuck.last('resync');
    expect(resync?.replay).toBe(256 * 1024);
    expect((resync?.skipped ?? 0) + MAX_UNACKED_BYTES).toBeGreaterThanOrEqual(total - 256 * 1024);
    await stuck.until(
      'replay after resync',
      () => stuck.received >= MAX_UNACKED_BYTES + 256 * 1024 - 64 * 1024,
    );
    await peer.output(pty, 'live again\r\n');
    await stuck.until('live again', () => stuck.text.endsWith('live again\r\n'));
  });

  it('marks output lost while the sandbox was away, and refuses a replayed pty token', async () => {
    const { world, peer, pty } = await withTerminal();
    const token = await rw(world);
    const viewer = await Viewer.attach(world.sessionId, token);
    await peer.output(pty, 'one\r\n');
    await viewer.until('one', () => viewer.text.includes('one'));
    peer.drop();
    // sandboxd kept producing while away and discarded the oldest 500 bytes past its bound.
    const stream = peer.streams.get(pty);
    if (stream === undefined) throw new Error('no stream');
    stream.produced += 500;
    stream.from = stream.produced;
    await peer.dial(peer.resumeToken);
    await viewer.until('gap marker', () => viewer.text.includes('500 bytes of output were lost'));
    await expect(Viewer.attach(world.sessionId, token)).rejects.toThrow(/401/);
  });
});
