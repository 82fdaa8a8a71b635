// @vitest-environment node
import type { AddressInfo } from 'node:net';
import { ACK_EVERY_BYTES, type TerminalServerMessage, ViewerCloseCode } from '@airlock/schema/api';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket as ServerSocket, WebSocketServer } from 'ws';
import { TerminalConnection, type TerminalState } from './terminal-connection.ts';

// The terminal's connection state machine against a real WebSocket server
// that speaks the viewer protocol (schema/pty/PROTOCOL.md) as the session
// gateway does: `attached` + scrollback replay, binary output, JSON control,
// one writer, close codes. Tickets are single-use, so each connect asks again.

interface Gateway {
  readonly url: string;
  readonly sockets: ServerSocket[];
  readonly input: string[];
  readonly control: Record<string, unknown>[];
  readonly tokens: string[];
  /** Scrollback the gateway keeps (replayed on every attach). */
  scrollback: string;
  viewers: number;
  status: 'pending' | 'running';
  writer: boolean;
  mode: 'rw' | 'ro';
  close(): Promise<void>;
}

const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

async function startGateway(): Promise<Gateway> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const gateway: Gateway = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets: [],
    input: [],
    control: [],
    tokens: [],
    scrollback: '',
    writer: true,
    mode: 'rw',
    viewers: 1,
    status: 'running',
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket, request) => {
    gateway.sockets.push(socket);
    gateway.tokens.push(new URL(request.url ?? '/', 'http://x').searchParams.get('token') ?? '');
    const send = (message: TerminalServerMessage) => socket.send(JSON.stringify(message));
    const replay = Buffer.from(gateway.scrollback);
    send({
      type: 'attached',
      version: 1,
      terminal: 'agent',
      viewerId: `v${gateway.sockets.length}`,
      mode: gateway.mode,
      writer: gateway.writer && gateway.mode === 'rw' && gateway.status === 'running',
      status: gateway.status,
      cols: 100,
      rows: 30,
      replay: replay.length,
      trimmed: 0,
      viewers: gateway.viewers,
    });
    if (replay.length > 0) socket.send(replay);
    socket.on('message', (data, binary) => {
      if (binary) {
        const text = data.toString();
        gateway.input.push(text);
        // The shell echoes what was typed.
        gateway.scrollback += text;
        socket.send(Buffer.from(text));
        return;
      }
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      gateway.control.push(message);
      if (message.type === 'claim') send({ type: 'writer', writer: true });
    });
  });
  gateways.push(gateway);
  return gateway;
}

/** A sink that records like a terminal would: reset clears the screen. */
function screen() {
  const decoder = new TextDecoder();
  const sink = {
    text: '',
    resets: 0,
    reset() {
      sink.text = '';
      sink.resets += 1;
    },
    write(bytes: Uint8Array) {
      sink.text += decoder.decode(bytes);
    },
  };
  return sink;
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connect(
  gateway: Gateway,
  options: Partial<ConstructorParameters<typeof TerminalConnection>[0]> = {},
) {
  const sink = screen();
  const states: TerminalState[] = [];
  let issued = 0;
  const connection = new TerminalConnection({
    ticket: async () => ({ url: `${gateway.url}/pty/ses_x?token=t${++issued}`, mode: gateway.mode }),
    sink,
    onState: (s) => states.push(s),
    baseDelayMs: 20,
    maxDelayMs: 200,
    random: () => 0.5,
    ...options,
  });
  return { connection, sink, states, last: () => states.at(-1) };
}

describe('the terminal connection', () => {
  it('attaches, redraws the scrollback, types as the writer and sizes the PTY', async () => {
    const gateway = await startGateway();
    gateway.scrollback = '$ ls\r\nREADME.md\r\n$ ';
    const { connection, sink, last } = connect(gateway);
    connection.resize(120, 40);
    connection.start();
    await until('live', () => last()?.kind === 'live');
    expect(last()).toMatchObject({ kind: 'live', mode: 'rw', writer: true, status: 'running' });
    await until('the replay', () => sink.text === '$ ls\r\nREADME.md\r\n$ ');
    expect(sink.resets).toBe(1);
    await until('the size', () => gateway.control.some((m) => m.type === 'resize'));
    expect(gateway.control).toContainEqual({ type: 'resize', cols: 120, rows: 40 });
    expect(connection.send('echo hello\r')).toBe(true);
    await until('the echo', () => sink.text.endsWith('echo hello\r'));
    expect(gateway.input).toEqual(['echo hello\r']);
    connection.stop();
    expect(last()).toEqual({ kind: 'idle' });
  });

  it('reconnects with a fresh ticket after a lost connection and redraws instead of appending', async () => {
    const gateway = await startGateway();
    gateway.scrollback = 'before\r\n';
    const { connection, sink, states, last } = connect(gateway);
    connection.start();
    await until('live', () => last()?.kind === 'live' && sink.text === 'before\r\n');
    gateway.sockets[0]?.terminate();
    await until('waiting', () => states.some((s) => s.kind === 'waiting'));
    expect(states.find((s) => s.kind === 'waiting')).toMatchObject({
      kind: 'waiting',
      reason: 'The terminal connection was lost.',
    });
    await until('live again', () => gateway.sockets.length === 2 && last()?.kind === 'live');
    await until('the replay', () => sink.resets === 2 && sink.text === 'before\r\n');
    expect(gateway.tokens).toEqual(['t1', 't2']);
    connection.stop();
  });

  it('backs off exponentially while the gateway stays away, and recovers', async () => {
    const gateway = await startGateway();
    const { connection, states, last } = connect(gateway, {
      ticket: async () => {
        throw { outcome: 'retry', message: 'The control plane cannot be reached.' };
      },
    });
    connection.start();
    await until('three retries', () => states.filter((s) => s.kind === 'waiting').length >= 3);
    const delays = states.flatMap((s) => (s.kind === 'waiting' ? [s.retryInMs] : []));
    expect(delays.slice(0, 3)).toEqual([15, 30, 60]); // base 20 ms doubling, times the jitter factor 0.75
    expect(last()?.kind === 'waiting' || last()?.kind === 'connecting').toBe(true);
    connection.stop();
  });

  it('stops for good when the session ends or the ticket is refused', async () => {
    const gateway = await startGateway();
    const ended = connect(gateway);
    ended.connection.start();
    await until('live', () => ended.last()?.kind === 'live');
    gateway.sockets[0]?.close(ViewerCloseCode.SESSION_ENDED, 'the session stopped');
    await until('ended', () => ended.last()?.kind === 'ended');
    expect(ended.last()).toEqual({ kind: 'ended', reason: 'the session stopped' });
    await new Promise((r) => setTimeout(r, 100));
    expect(gateway.sockets).toHaveLength(1);

    const refused = connect(gateway, {
      ticket: async () => {
        throw { outcome: 'refused', message: 'Log in first, or send an API token.' };
      },
    });
    refused.connection.start();
    await until('failed', () => refused.last()?.kind === 'failed');
    expect(refused.last()).toEqual({ kind: 'failed', reason: 'Log in first, or send an API token.' });
    const over = connect(gateway, {
      ticket: async () => {
        throw { outcome: 'ended', message: 'The session is stopped; its terminal has closed.' };
      },
    });
    over.connection.start();
    await until('ended', () => over.last()?.kind === 'ended');
  });

  it('keeps a read-only viewer from typing, and lets a read-write viewer take over', async () => {
    const gateway = await startGateway();
    gateway.mode = 'ro';
    const ro = connect(gateway);
    ro.connection.start();
    await until('live', () => ro.last()?.kind === 'live');
    expect(ro.last()).toMatchObject({ mode: 'ro', writer: false });
    expect(ro.connection.send('rm -rf /\r')).toBe(false);
    ro.connection.stop();

    gateway.mode = 'rw';
    gateway.writer = false;
    gateway.viewers = 2; // someone else is typing
    const rw = connect(gateway);
    rw.connection.resize(90, 20);
    rw.connection.start();
    await until('live', () => rw.last()?.kind === 'live');
    expect(rw.connection.send('x')).toBe(false);
    rw.connection.claim();
    await until('writer', () => rw.last()?.kind === 'live' && (rw.last() as { writer: boolean }).writer);
    await until('the size after claiming', () => gateway.control.some((m) => m.type === 'resize'));
    expect(gateway.control).toEqual([{ type: 'claim' }, { type: 'resize', cols: 90, rows: 20 }]);
    expect(gateway.input).toEqual([]);
    rw.connection.stop();
  });

  it('takes the keyboard by itself once the terminal runs, when it is the only viewer', async () => {
    const gateway = await startGateway();
    gateway.status = 'pending';
    const { connection, last } = connect(gateway);
    connection.start();
    await until('live', () => last()?.kind === 'live');
    expect(last()).toMatchObject({ status: 'pending', writer: false });
    expect(gateway.control).toEqual([]);
    gateway.sockets[0]?.send(JSON.stringify({ type: 'status', status: 'running' }));
    await until('writer', () => last()?.kind === 'live' && (last() as { writer: boolean }).writer);
    expect(gateway.control[0]).toEqual({ type: 'claim' });
    connection.stop();
  });

  it('acknowledges output so the gateway keeps sending', async () => {
    const gateway = await startGateway();
    gateway.scrollback = 'x'.repeat(ACK_EVERY_BYTES + 10);
    const { connection, sink, last } = connect(gateway);
    connection.start();
    await until('the replay', () => last()?.kind === 'live' && sink.text.length === ACK_EVERY_BYTES + 10);
    await until('an ack', () => gateway.control.some((m) => m.type === 'ack'));
    expect(gateway.control).toContainEqual({ type: 'ack', bytes: ACK_EVERY_BYTES + 10 });
    connection.stop();
  });
});
