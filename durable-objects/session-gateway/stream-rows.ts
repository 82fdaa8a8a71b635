import type { StreamKindName } from '@airlock/schema/tunnel';
import type { FrameSink, StreamCounters } from './stream.ts';
import { TunnelStream } from './stream.ts';

// Resumable streams (pty, exec) keep their byte counters and credits in SQLite,
// so after hibernation or eviction the gateway still knows what the sandbox
// sent, what it may send, and what it will report in the next HELLO.

type Row = {
  id: number;
  kind: string;
  terminal: string | null;
  received: number;
  sent: number;
  recv_window: number;
  send_credit: number;
  remote_fin: number;
  local_fin: number;
  exited: number;
};

export class StreamRows {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  insert(stream: TunnelStream, terminal: string | null): void {
    const c = stream.c;
    this.#sql.exec(
      `INSERT OR REPLACE INTO streams (id, kind, terminal, received, sent, recv_window, send_credit, remote_fin, local_fin, exited)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
      stream.id,
      stream.kind,
      terminal,
      c.received,
      c.sent,
      c.recvWindow,
      c.sendCredit,
      Number(c.remoteFin),
      Number(c.localFin),
    );
  }

  update(stream: TunnelStream): void {
    const c = stream.c;
    this.#sql.exec(
      `UPDATE streams SET received = ?, sent = ?, recv_window = ?, send_credit = ?, remote_fin = ?, local_fin = ?
       WHERE id = ?`,
      c.received,
      c.sent,
      c.recvWindow,
      c.sendCredit,
      Number(c.remoteFin),
      Number(c.localFin),
      stream.id,
    );
  }

  markExited(id: number): void {
    this.#sql.exec('UPDATE streams SET exited = 1 WHERE id = ?', id);
  }

  delete(id: number): void {
    this.#sql.exec('DELETE FROM streams WHERE id = ?', id);
  }

  /** Live streams of a kind, rebuilt with their counters; `terminal` is the terminal key for pty. */
  load(
    kind: StreamKindName,
    sink: FrameSink,
  ): { stream: TunnelStream; terminal: string | null; exited: boolean }[] {
    return this.#sql
      .exec<Row>('SELECT * FROM streams WHERE kind = ? ORDER BY id', kind)
      .toArray()
      .map((row) => {
        const counters: StreamCounters = {
          received: row.received,
          sent: row.sent,
          recvWindow: row.recv_window,
          sendCredit: row.send_credit,
          remoteFin: row.remote_fin === 1,
          localFin: row.local_fin === 1,
        };
        return {
          stream: new TunnelStream(row.id, kind, sink, counters),
          terminal: row.terminal,
          exited: row.exited === 1,
        };
      });
  }
}
