import type { Assignment, AssignmentKind, AssignmentOutcome, HostInfo } from '@airlock/schema/runner';
import type { SandboxState, UnsettledAssignment } from './reconcile.ts';

// The hub's SQLite: the runner's presence, every assignment (durable until
// settled, then kept a while for callers to read), the sandboxes the hub
// believes exist, and streamed exec output. Reports for the control plane
// wait in the outbox (outbox.ts).

export const ASSIGNMENT_STATES = ['pending', 'delivered', 'accepted', 'succeeded', 'failed'] as const;
export type AssignmentState = (typeof ASSIGNMENT_STATES)[number];
export const UNSETTLED: readonly AssignmentState[] = ['pending', 'delivered', 'accepted'];

/** `never`: no runner has connected yet; `offline`: gone longer than the grace period. */
export type PresenceStatus = 'never' | 'online' | 'offline';

export interface PresenceRow {
  readonly runnerId: string | null;
  readonly orgId: string | null;
  readonly status: PresenceStatus;
  readonly version: string | null;
  readonly capacity: number | null;
  readonly host: HostInfo | null;
  readonly heartbeatMs: number;
  readonly graceMs: number;
  readonly connectedAt: number | null;
  readonly lastSeenAt: number | null;
  readonly messages: number;
}

export interface AssignmentRow {
  readonly id: string;
  readonly kind: AssignmentKind;
  readonly sandboxId: string;
  readonly assignment: Assignment;
  readonly fingerprint: string;
  readonly state: AssignmentState;
  readonly outcome: AssignmentOutcome | null;
  readonly submittedAt: number;
  readonly settledAt: number | null;
  readonly deadlineAt: number;
}

export interface SandboxRow {
  readonly sandboxId: string;
  readonly state: SandboxState;
  readonly containerId: string | null;
  readonly exitCode: number | null;
  readonly updatedAt: number;
}

/** Settled assignments kept for readers; older ones are pruned. */
const KEEP_SETTLED = 500;
/** Bytes of streamed output kept per assignment. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

type Row = Record<string, SqlStorageValue>;

export class HubStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS runner_presence (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      runner_id TEXT, org_id TEXT,
      status TEXT NOT NULL DEFAULT 'never',
      version TEXT, capacity INTEGER, host TEXT,
      heartbeat_ms INTEGER NOT NULL DEFAULT 15000,
      grace_ms INTEGER NOT NULL DEFAULT 60000,
      connected_at INTEGER, last_seen_at INTEGER,
      messages INTEGER NOT NULL DEFAULT 0
    )`);
    sql.exec(`INSERT OR IGNORE INTO runner_presence (id) VALUES (1)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS assignments (
      id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      kind TEXT NOT NULL,
      sandbox_id TEXT NOT NULL,
      payload TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      state TEXT NOT NULL,
      outcome TEXT,
      submitted_at INTEGER NOT NULL,
      settled_at INTEGER,
      deadline_at INTEGER NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS assignments_state ON assignments (state, seq)');
    sql.exec(`CREATE TABLE IF NOT EXISTS sandboxes (
      sandbox_id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      container_id TEXT,
      exit_code INTEGER,
      updated_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS outputs (
      assignment_id TEXT NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, data TEXT NOT NULL,
      PRIMARY KEY (assignment_id, seq)
    )`);
  }

  // ── presence ──────────────────────────────────────────────────────────

  presence(): PresenceRow {
    const r = this.#sql.exec<Row>('SELECT * FROM runner_presence WHERE id = 1').one();
    return {
      runnerId: str(r.runner_id),
      orgId: str(r.org_id),
      status: String(r.status) as PresenceStatus,
      version: str(r.version),
      capacity: num(r.capacity),
      host: r.host === null ? null : (JSON.parse(String(r.host)) as HostInfo),
      heartbeatMs: Number(r.heartbeat_ms),
      graceMs: Number(r.grace_ms),
      connectedAt: num(r.connected_at),
      lastSeenAt: num(r.last_seen_at),
      messages: Number(r.messages),
    };
  }

  connected(input: {
    runnerId: string;
    orgId: string;
    heartbeatMs: number;
    graceMs: number;
    now: number;
  }): void {
    this.#sql.exec(
      `UPDATE runner_presence SET runner_id = ?, org_id = ?, heartbeat_ms = ?, grace_ms = ?, connected_at = ?, last_seen_at = ? WHERE id = 1`,
      input.runnerId,
      input.orgId,
      input.heartbeatMs,
      input.graceMs,
      input.now,
      input.now,
    );
  }

  helloed(input: { version: string; capacity: number; host: HostInfo }): void {
    this.#sql.exec(
      `UPDATE runner_presence SET status = 'online', version = ?, capacity = ?, host = ? WHERE id = 1`,
      input.version,
      input.capacity,
      JSON.stringify(input.host),
    );
  }

  seen(now: number): void {
    this.#sql.exec('UPDATE runner_presence SET last_seen_at = ?, messages = messages + 1 WHERE id = 1', now);
  }

  wentOffline(): void {
    this.#sql.exec(`UPDATE runner_presence SET status = 'offline' WHERE id = 1`);
  }

  // ── assignments ───────────────────────────────────────────────────────

  assignment(id: string): AssignmentRow | null {
    const r = this.#sql.exec<Row>('SELECT * FROM assignments WHERE id = ?', id).toArray()[0];
    return r === undefined ? null : toAssignment(r);
  }

  insertAssignment(assignment: Assignment, fingerprint: string, now: number, deadlineAt: number): void {
    const seq = this.#sql
      .exec<{ n: number }>('SELECT coalesce(max(seq), 0) + 1 AS n FROM assignments')
      .one().n;
    this.#sql.exec(
      `INSERT INTO assignments (id, seq, kind, sandbox_id, payload, fingerprint, state, submitted_at, deadline_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      assignment.id,
      seq,
      assignment.kind,
      assignment.sandboxId,
      JSON.stringify(assignment),
      fingerprint,
      now,
      deadlineAt,
    );
  }

  unsettled(): UnsettledAssignment[] {
    return this.#sql
      .exec<Row>(
        `SELECT id, kind, sandbox_id, state FROM assignments WHERE state IN ('pending', 'delivered', 'accepted') ORDER BY seq`,
      )
      .toArray()
      .map((r) => ({
        id: String(r.id),
        kind: String(r.kind) as AssignmentKind,
        sandboxId: String(r.sandbox_id),
        state: String(r.state) as UnsettledAssignment['state'],
      }));
  }

  /** Moves forward only: a late `accepted` never reopens a settled assignment. */
  markAssignment(id: string, state: 'delivered' | 'accepted'): void {
    const from = state === 'delivered' ? "('pending', 'delivered', 'accepted')" : "('pending', 'delivered')";
    this.#sql.exec(`UPDATE assignments SET state = ? WHERE id = ? AND state IN ${from}`, state, id);
  }

  /** Record the outcome once; returns false if it was already settled. Secrets in the payload are dropped. */
  settle(id: string, outcome: AssignmentOutcome, now: number): boolean {
    const row = this.assignment(id);
    if (row === null || !UNSETTLED.includes(row.state)) return false;
    const kept = row.assignment.kind === 'start' ? { ...row.assignment, startup: undefined } : row.assignment;
    this.#sql.exec(
      'UPDATE assignments SET state = ?, outcome = ?, settled_at = ?, payload = ? WHERE id = ?',
      outcome.ok ? 'succeeded' : 'failed',
      JSON.stringify(outcome),
      now,
      JSON.stringify(kept),
      id,
    );
    this.#prune();
    return true;
  }

  overdue(now: number): string[] {
    return this.#sql
      .exec<Row>(
        `SELECT id FROM assignments WHERE state IN ('pending', 'delivered', 'accepted') AND deadline_at <= ? ORDER BY seq`,
        now,
      )
      .toArray()
      .map((r) => String(r.id));
  }

  nextDeadline(): number | null {
    return num(
      this.#sql
        .exec<Row>(
          `SELECT min(deadline_at) AS t FROM assignments WHERE state IN ('pending', 'delivered', 'accepted')`,
        )
        .one().t,
    );
  }

  #prune(): void {
    this.#sql.exec(
      `DELETE FROM assignments WHERE id IN (
         SELECT id FROM assignments WHERE state IN ('succeeded', 'failed') ORDER BY settled_at DESC LIMIT -1 OFFSET ?)`,
      KEEP_SETTLED,
    );
    this.#sql.exec('DELETE FROM outputs WHERE assignment_id NOT IN (SELECT id FROM assignments)');
  }

  // ── output ────────────────────────────────────────────────────────────

  appendOutput(id: string, seq: number, stream: string, data: string): void {
    const used = this.#sql
      .exec<Row>('SELECT coalesce(sum(length(data)), 0) AS n FROM outputs WHERE assignment_id = ?', id)
      .one().n;
    if (Number(used) + data.length > MAX_OUTPUT_BYTES) return;
    this.#sql.exec(
      'INSERT OR IGNORE INTO outputs (assignment_id, seq, stream, data) VALUES (?, ?, ?, ?)',
      id,
      seq,
      stream,
      data,
    );
  }

  output(id: string, afterSeq: number): Array<{ seq: number; stream: 'stdout' | 'stderr'; data: string }> {
    return this.#sql
      .exec<Row>(
        'SELECT seq, stream, data FROM outputs WHERE assignment_id = ? AND seq > ? ORDER BY seq LIMIT 1000',
        id,
        afterSeq,
      )
      .toArray()
      .map((r) => ({
        seq: Number(r.seq),
        stream: String(r.stream) as 'stdout' | 'stderr',
        data: String(r.data),
      }));
  }

  // ── sandboxes ─────────────────────────────────────────────────────────

  sandbox(sandboxId: string): SandboxRow | null {
    const r = this.#sql.exec<Row>('SELECT * FROM sandboxes WHERE sandbox_id = ?', sandboxId).toArray()[0];
    return r === undefined ? null : toSandbox(r);
  }

  sandboxes(): SandboxRow[] {
    return this.#sql.exec<Row>('SELECT * FROM sandboxes ORDER BY sandbox_id').toArray().map(toSandbox);
  }

  setSandbox(
    sandboxId: string,
    state: SandboxState,
    now: number,
    details: { containerId?: string; exitCode?: number | null } = {},
  ): void {
    this.#sql.exec(
      `INSERT INTO sandboxes (sandbox_id, state, container_id, exit_code, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sandbox_id) DO UPDATE SET state = excluded.state,
         container_id = coalesce(excluded.container_id, container_id),
         exit_code = CASE WHEN ? THEN excluded.exit_code ELSE exit_code END,
         updated_at = excluded.updated_at`,
      sandboxId,
      state,
      details.containerId ?? null,
      details.exitCode ?? null,
      now,
      details.exitCode === undefined ? 0 : 1,
    );
  }

  liveCount(): number {
    return Number(
      this.#sql
        .exec<Row>(
          `SELECT count(*) AS n FROM sandboxes WHERE state IN ('creating', 'created', 'running', 'exited')`,
        )
        .one().n,
    );
  }
}

function str(value: SqlStorageValue | undefined): string | null {
  return value === null || value === undefined ? null : String(value);
}

function num(value: SqlStorageValue | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function toAssignment(r: Row): AssignmentRow {
  return {
    id: String(r.id),
    kind: String(r.kind) as AssignmentKind,
    sandboxId: String(r.sandbox_id),
    assignment: JSON.parse(String(r.payload)) as Assignment,
    fingerprint: String(r.fingerprint),
    state: String(r.state) as AssignmentState,
    outcome: r.outcome === null ? null : (JSON.parse(String(r.outcome)) as AssignmentOutcome),
    submittedAt: Number(r.submitted_at),
    settledAt: num(r.settled_at),
    deadlineAt: Number(r.deadline_at),
  };
}

function toSandbox(r: Row): SandboxRow {
  return {
    sandboxId: String(r.sandbox_id),
    state: String(r.state) as SandboxState,
    containerId: str(r.container_id),
    exitCode: num(r.exit_code),
    updatedAt: Number(r.updated_at),
  };
}
