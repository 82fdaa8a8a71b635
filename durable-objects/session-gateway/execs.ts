import type { ExecEvent, ExecInput } from '@airlock/schema/gateway';
import { CloseCode, type JsonObject } from '@airlock/schema/tunnel';
import type { TunnelStream } from './stream.ts';
import { StreamRows } from './stream-rows.ts';
import type { Tunnel } from './tunnel.ts';

// Commands the lifecycle runs in the sandbox (setup scripts, writing plan
// files): an `exec` stream whose output is returned as a stream of NDJSON
// events to the RPC caller, with the sandbox's credit returned only as fast as
// the caller reads. The tail of the output and the exit status are also kept
// in SQLite, so a caller that lost its stream can still ask for the result.

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: { code: number; signal: number; timedOut: boolean } | null;
}

export interface ExecHost {
  tunnel(): Tunnel;
  nextStreamId(): number;
}

const TAIL_CHARS = 64 * 1024;
const encoder = new TextEncoder();

export class Execs {
  readonly #host: ExecHost;
  readonly #sql: SqlStorage;
  readonly #rows: StreamRows;
  readonly #writers = new Map<number, WritableStreamDefaultWriter<Uint8Array>>();
  readonly #decoders = new Map<string, TextDecoder>();

  constructor(host: ExecHost, sql: SqlStorage) {
    this.#host = host;
    this.#sql = sql;
    this.#rows = new StreamRows(sql);
  }

  restore(sink: Tunnel): TunnelStream[] {
    const out: TunnelStream[] = [];
    for (const { stream, exited } of this.#rows.load('exec', sink)) {
      if (exited) continue;
      this.#wire(stream);
      out.push(stream);
    }
    return out;
  }

  start(input: ExecInput): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, {
      highWaterMark: 16,
    });
    const writer = writable.getWriter();
    const tunnel = this.#host.tunnel();
    if (tunnel.socket() === null) {
      void this.#emit(writer, {
        type: 'error',
        code: 'TUNNEL_DOWN',
        message: 'the sandbox is not connected',
      }).then(() => writer.close().catch(() => {}));
      return readable;
    }
    const id = this.#host.nextStreamId();
    const meta: JsonObject = { command: input.command };
    if (input.cwd !== undefined) meta.cwd = input.cwd;
    if (input.env !== undefined) meta.env = input.env;
    if (input.timeoutMs !== undefined) meta.timeoutMs = input.timeoutMs;
    this.#sql.exec('INSERT OR REPLACE INTO exec_results (stream_id) VALUES (?)', id);
    const stream = tunnel.open('exec', meta, id);
    this.#rows.insert(stream, null);
    this.#writers.set(id, writer);
    this.#wire(stream);
    void this.#emit(writer, { type: 'started', streamId: id });
    const stdin = input.stdin === undefined ? new Uint8Array(0) : encoder.encode(input.stdin);
    void stream.write(stdin, { fin: true }).catch(() => {});
    return readable;
  }

  result(streamId: number): ExecResult | null {
    const row = this.#sql
      .exec<{ stdout: string; stderr: string; exit: string | null }>(
        'SELECT stdout, stderr, exit FROM exec_results WHERE stream_id = ?',
        streamId,
      )
      .toArray()[0];
    if (row === undefined) return null;
    return {
      stdout: row.stdout,
      stderr: row.stderr,
      exit: row.exit === null ? null : (JSON.parse(row.exit) as ExecResult['exit']),
    };
  }

  #emit(writer: WritableStreamDefaultWriter<Uint8Array> | undefined, event: ExecEvent): Promise<void> {
    if (writer === undefined) return Promise.resolve();
    return writer.write(encoder.encode(`${JSON.stringify(event)}\n`)).catch(() => {
      // The caller went away; output keeps going to the stored tail.
      for (const [id, w] of this.#writers) if (w === writer) this.#writers.delete(id);
    });
  }

  #text(id: number, which: 'stdout' | 'stderr', bytes: Uint8Array, final: boolean): string {
    const key = `${id}:${which}`;
    let decoder = this.#decoders.get(key);
    if (decoder === undefined) {
      decoder = new TextDecoder();
      this.#decoders.set(key, decoder);
    }
    const text = decoder.decode(bytes, { stream: !final });
    if (final) this.#decoders.delete(key);
    return text;
  }

  #wire(stream: TunnelStream): void {
    const id = stream.id;
    stream.onChange = (s) => this.#rows.update(s);
    stream.handler = {
      data: (bytes, stderr, fin) => {
        const which = stderr ? 'stderr' : 'stdout';
        const text = this.#text(id, which, bytes, fin);
        this.#sql.exec(
          `UPDATE exec_results SET ${which} = substr(${which} || ?, ?) WHERE stream_id = ?`,
          text,
          -TAIL_CHARS,
          id,
        );
        const writer = this.#writers.get(id);
        if (writer === undefined) return stream.consumed(bytes.length);
        void this.#emit(writer, { type: which, data: text })
          .then(() => writer.ready)
          .then(
            () => stream.consumed(bytes.length),
            () => stream.consumed(bytes.length),
          );
      },
      exit: (code, signal, timedOut) => {
        const exit = { code, signal, timedOut };
        this.#sql.exec('UPDATE exec_results SET exit = ? WHERE stream_id = ?', JSON.stringify(exit), id);
        this.#rows.markExited(id);
        stream.finish();
        this.#close(id, { type: 'exit', ...exit });
        this.#host.tunnel().forget(stream);
      },
      reset: (code, message) => {
        this.#rows.delete(id);
        const reason =
          code === CloseCode.SPAWN_FAILED
            ? 'SPAWN_FAILED'
            : code === CloseCode.CONNECTION_LOST
              ? 'CONNECTION_LOST'
              : 'RESET';
        this.#close(id, { type: 'error', code: reason, message: message.slice(0, 300) });
        this.#host.tunnel().forget(stream);
      },
    };
  }

  #close(id: number, event: ExecEvent): void {
    const writer = this.#writers.get(id);
    this.#writers.delete(id);
    if (writer !== undefined) void this.#emit(writer, event).then(() => writer.close().catch(() => {}));
  }

  /** A resumed exec lost output while disconnected: tell a live caller. */
  gap(stream: TunnelStream, bytes: number): void {
    if (bytes > 0) void this.#emit(this.#writers.get(stream.id), { type: 'gap', bytes });
  }
}
