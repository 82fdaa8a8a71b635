import {
  type Attribution,
  DEFAULT_SESSION_SETTINGS,
  type SessionSettings,
  type TunnelStateName,
} from '@airlock/schema/gateway';
import type { RuntimePlan } from '@airlock/schema/plan';
import { WINDOWS_SCHEMA } from './audit-windows.ts';

// The gateway's SQLite storage: the source of truth that memory is rebuilt
// from after eviction or hibernation. Writes are synchronous (no await between
// a check and its write), so one call's read-modify-write cannot interleave
// with another's.

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS plan (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL,
    plan TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`,
  // Hashes of resume tokens that may open the tunnel (PROTOCOL.md §4).
  `CREATE TABLE IF NOT EXISTS tunnel_tokens (hash TEXT PRIMARY KEY, created_at INTEGER NOT NULL)`,
  // Single-use token ids (bootstrap, pty) that were redeemed; kept until they expire anyway.
  `CREATE TABLE IF NOT EXISTS redeemed_jti (jti TEXT PRIMARY KEY, purpose TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  // The bootstrap tokens the lifecycle minted for the current sandbox assignment: the only ones
  // that may open the tunnel, until a connection is confirmed (ADR 0100). Expiry in ms.
  `CREATE TABLE IF NOT EXISTS bootstrap_grants (jti TEXT PRIMARY KEY, assignment TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
  // Resumable streams (pty, exec): byte counters and credits survive hibernation.
  `CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    terminal TEXT,
    received INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    recv_window INTEGER NOT NULL,
    send_credit INTEGER NOT NULL,
    remote_fin INTEGER NOT NULL DEFAULT 0,
    local_fin INTEGER NOT NULL DEFAULT 0,
    exited INTEGER NOT NULL DEFAULT 0
  )`,
  `CREATE TABLE IF NOT EXISTS terminals (
    key TEXT PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    cols INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    exit_code INTEGER,
    exit_signal INTEGER,
    writer TEXT
  )`,
  `CREATE TABLE IF NOT EXISTS scrollback (
    terminal TEXT NOT NULL,
    offset INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (terminal, offset)
  )`,
  `CREATE TABLE IF NOT EXISTS audit_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    event TEXT NOT NULL
  )`,
  // Open windows of denied requests (audit-windows.ts).
  WINDOWS_SCHEMA,
  `CREATE TABLE IF NOT EXISTS exec_results (
    stream_id INTEGER PRIMARY KEY,
    stdout TEXT NOT NULL DEFAULT '',
    stderr TEXT NOT NULL DEFAULT '',
    exit TEXT
  )`,
];

export type MetaKey =
  | 'session_id'
  | 'org_id'
  | 'attribution'
  | 'settings'
  | 'tunnel_state'
  | 'connected_at'
  | 'disconnected_at'
  | 'grace_deadline'
  | 'last_activity_at'
  | 'next_stream_id'
  | 'epoch'
  | 'ended_at'
  | 'stop_requested'
  | 'flush_failures'
  | 'flush_retry_at'
  | 'stop_retry_at'
  /** JSON array of this session's signing attempts in the last minute (ms), oldest first. */
  | 'sign_times'
  /** Ids of routes whose credential was resolved (the leak tripwire re-learns them after a wake). */
  | 'resolved_routes';

export interface SessionInfo {
  readonly sessionId: string;
  readonly orgId: string;
  readonly attribution: Attribution;
  readonly settings: SessionSettings;
}

export interface StoredPlan {
  readonly revision: number;
  readonly plan: RuntimePlan;
}

export class GatewayStore {
  readonly sql: SqlStorage;
  /** Read on every stream and audit event: parsed once per plan (each `set` clears it). */
  #settings: SessionSettings | null = null;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    for (const statement of SCHEMA) sql.exec(statement);
  }

  get(key: MetaKey): string | null {
    const rows = this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray();
    return rows[0]?.value ?? null;
  }

  getNumber(key: MetaKey): number | null {
    const value = this.get(key);
    return value === null ? null : Number(value);
  }

  set(key: MetaKey, value: string | number | null): void {
    if (key === 'settings') this.#settings = null;
    if (value === null) this.sql.exec('DELETE FROM meta WHERE key = ?', key);
    else this.sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, String(value));
  }

  session(): SessionInfo | null {
    const sessionId = this.get('session_id');
    const orgId = this.get('org_id');
    const attribution = this.get('attribution');
    if (sessionId === null || orgId === null || attribution === null) return null;
    return {
      sessionId,
      orgId,
      attribution: JSON.parse(attribution) as Attribution,
      settings: this.settings(),
    };
  }

  /** Stored settings; keys added since they were stored take their defaults. */
  settings(): SessionSettings {
    if (this.#settings !== null) return this.#settings;
    const settings = this.get('settings');
    if (settings === null) return DEFAULT_SESSION_SETTINGS;
    this.#settings = { ...DEFAULT_SESSION_SETTINGS, ...(JSON.parse(settings) as Partial<SessionSettings>) };
    return this.#settings;
  }

  tunnelState(): TunnelStateName {
    return (this.get('tunnel_state') as TunnelStateName | null) ?? 'waiting';
  }

  plan(): StoredPlan | null {
    const row = this.sql
      .exec<{ revision: number; plan: string }>('SELECT revision, plan FROM plan WHERE id = 1')
      .toArray()[0];
    return row === undefined ? null : { revision: row.revision, plan: JSON.parse(row.plan) as RuntimePlan };
  }

  planRevision(): number | null {
    const row = this.sql.exec<{ revision: number }>('SELECT revision FROM plan WHERE id = 1').toArray()[0];
    return row?.revision ?? null;
  }

  savePlan(revision: number, plan: RuntimePlan, now: number): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO plan (id, revision, plan, applied_at) VALUES (1, ?, ?, ?)',
      revision,
      JSON.stringify(plan),
      now,
    );
  }

  /** Gateway-opened stream ids are even, increasing, never reused (PROTOCOL.md §5). */
  nextStreamId(): number {
    const id = this.getNumber('next_stream_id') ?? 2;
    this.set('next_stream_id', id + 2);
    return id;
  }

  isRedeemed(jti: string): boolean {
    return this.sql.exec('SELECT 1 FROM redeemed_jti WHERE jti = ?', jti).toArray().length > 0;
  }

  redeem(jti: string, purpose: string, expiresAt: number): void {
    this.sql.exec(
      'INSERT OR IGNORE INTO redeemed_jti (jti, purpose, expires_at) VALUES (?, ?, ?)',
      jti,
      purpose,
      expiresAt,
    );
  }

  expireRedeemed(now: number): void {
    this.sql.exec('DELETE FROM redeemed_jti WHERE expires_at < ?', now);
    this.sql.exec('DELETE FROM bootstrap_grants WHERE expires_at < ?', now);
  }

  /** The lifecycle minted `jti` for `assignment`; a new assignment voids the previous one's grants. */
  grantBootstrap(jti: string, assignment: string, expiresAt: number): void {
    this.sql.exec('DELETE FROM bootstrap_grants WHERE assignment != ?', assignment);
    this.sql.exec(
      'INSERT OR REPLACE INTO bootstrap_grants (jti, assignment, expires_at) VALUES (?, ?, ?)',
      jti,
      assignment,
      expiresAt,
    );
  }

  /** May this bootstrap `jti` open the tunnel: granted, unexpired and not spent. */
  bootstrapAdmits(jti: string, now: number): boolean {
    if (jti === '' || this.isRedeemed(jti)) return false;
    return (
      this.sql.exec('SELECT 1 FROM bootstrap_grants WHERE jti = ? AND expires_at >= ?', jti, now).toArray()
        .length > 0
    );
  }

  /** A connection is confirmed: no bootstrap token of this assignment opens the tunnel again. */
  spendBootstrapGrants(): void {
    this.sql.exec(
      "INSERT OR IGNORE INTO redeemed_jti (jti, purpose, expires_at) SELECT jti, 'bootstrap', expires_at FROM bootstrap_grants",
    );
  }

  hasTunnelToken(hash: string): boolean {
    return this.sql.exec('SELECT 1 FROM tunnel_tokens WHERE hash = ?', hash).toArray().length > 0;
  }

  /** After WELCOME: the new token, plus the one this connection used until the sandbox confirms. */
  rotateTunnelTokens(keep: string | null, fresh: string, now: number): void {
    if (keep === null) this.sql.exec('DELETE FROM tunnel_tokens');
    else this.sql.exec('DELETE FROM tunnel_tokens WHERE hash != ?', keep);
    this.sql.exec('INSERT OR REPLACE INTO tunnel_tokens (hash, created_at) VALUES (?, ?)', fresh, now);
  }

  dropTunnelToken(hash: string): void {
    this.sql.exec('DELETE FROM tunnel_tokens WHERE hash = ?', hash);
  }

  clearTunnelTokens(): void {
    this.sql.exec('DELETE FROM tunnel_tokens');
  }
}
