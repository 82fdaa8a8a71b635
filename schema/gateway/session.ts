import { z } from 'zod';
import { RuntimePlan } from '../plan/types.ts';

// What the session lifecycle hands a SessionGateway Durable Object (RPC), and
// what it can ask it. The gateway validates every input with these schemas:
// an RPC boundary is a boundary like any other.

/** Who a session acts for: the human who started it, or the trigger (and delivery) that did. */
export const Attribution = z
  .strictObject({
    startedBy: z.string().regex(/^usr_/).nullable(),
    triggerId: z.string().regex(/^trg_/).nullable(),
    triggerDeliveryId: z.string().regex(/^dlv_/).nullable(),
  })
  .refine((a) => a.startedBy !== null || a.triggerId !== null, {
    message: 'a session is started by a user or by a trigger',
  });

/** Per-session limits, from config `limits.*` at session start (the gateway reads no config). */
export const SessionSettings = z.strictObject({
  scrollbackBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(16 * 1024 * 1024),
  idleTimeoutSeconds: z.number().int().positive(),
  tunnelGraceSeconds: z.number().int().positive(),
  /** A connected tunnel silent this long is closed (sandboxd pings every 15 s). */
  tunnelSilenceSeconds: z.number().int().positive().default(60),
  /** Commit/tag signatures the sandbox may ask for per sliding minute (limits.signatures_per_minute). */
  signaturesPerMinute: z.number().int().positive().max(10_000).default(60),
  /** `http` and `sign` streams the sandbox may have open at once; past it a request gets 429 (ADR 0115). */
  tunnelMaxStreams: z.number().int().min(1).max(10_000).default(128),
  /**
   * Bytes the gateway holds for the sandbox beyond one window per stream: request bodies received
   * ahead, responses read ahead, WebSocket messages being assembled or waiting for the sandbox.
   */
  tunnelBufferBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .max(256 * 1024 * 1024)
    .default(32 * 1024 * 1024),
  /** Largest WebSocket message through the gateway, either way (it uses at most half the buffer). */
  websocketMessageBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  /** Denied requests are audited as one row per host and window of this length, with a count. */
  deniedAuditWindowSeconds: z.number().int().min(1).max(3600).default(60),
});

/**
 * Whose gateway this is: a session (`ses_…`), or a snapshot build (`snp_…`) whose temporary
 * sandbox reaches out through a gateway of its own, admitted the same way (ADR 0035).
 */
export const GatewayOwnerId = z.string().regex(/^(ses|snp)_/, 'a session or snapshot build id');

export const ApplyPlanInput = z.strictObject({
  /** The gateway's owner (named `sessionId` for the common case; a build's `snp_…` id too). */
  sessionId: GatewayOwnerId,
  /** Revisions only move forward; re-applying the current one is a no-op. */
  revision: z.number().int().positive(),
  plan: RuntimePlan,
  attribution: Attribution,
  settings: SessionSettings,
});

/**
 * The one bootstrap token the lifecycle minted for the sandbox it is starting (ADR 0100): handed to
 * the gateway before the token leaves the Worker, so the gateway admits that `jti` and no other.
 * `assignment` names the sandbox it was minted for (the provisioning attempt): a grant for a new
 * assignment voids the unused grants of the previous one. Once a connection is confirmed, every
 * grant is spent; the sandbox continues with resume tokens.
 */
export const BootstrapGrant = z.strictObject({
  sessionId: GatewayOwnerId,
  orgId: z.string().regex(/^org_/),
  jti: z.string().min(16).max(128),
  /** The token's `exp` (seconds since the epoch). */
  expiresAt: z.number().int().positive(),
  assignment: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/),
});
export type BootstrapGrant = z.infer<typeof BootstrapGrant>;

export type BootstrapGrantResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'INVALID_INPUT' | 'SESSION_MISMATCH' | 'SESSION_ENDED';
      readonly message: string;
    };

export type Attribution = z.infer<typeof Attribution>;
export type SessionSettings = z.output<typeof SessionSettings>;
export type ApplyPlanInput = z.input<typeof ApplyPlanInput>;

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  scrollbackBytes: 2 * 1024 * 1024,
  idleTimeoutSeconds: 15 * 60,
  tunnelGraceSeconds: 60,
  tunnelSilenceSeconds: 60,
  signaturesPerMinute: 60,
  tunnelMaxStreams: 128,
  tunnelBufferBytes: 32 * 1024 * 1024,
  websocketMessageBytes: 16 * 1024 * 1024,
  deniedAuditWindowSeconds: 60,
};

export type ApplyPlanResult =
  | { readonly ok: true; readonly revision: number; readonly changed: boolean }
  | {
      readonly ok: false;
      readonly code: 'STALE_REVISION' | 'SESSION_MISMATCH' | 'SESSION_ENDED';
      readonly message: string;
      readonly revision: number | null;
    };

/** `waiting`: never connected; `disconnected`: within the grace period; `lost`: grace expired. */
export const TUNNEL_STATES = ['waiting', 'connected', 'disconnected', 'lost', 'ended'] as const;
export type TunnelStateName = (typeof TUNNEL_STATES)[number];

export interface TunnelState {
  readonly sessionId: string | null;
  readonly state: TunnelStateName;
  readonly revision: number | null;
  readonly connectedAt: number | null;
  readonly disconnectedAt: number | null;
  /** When a disconnected tunnel becomes `lost` (ms since the epoch). */
  readonly graceDeadline: number | null;
  readonly lastActivityAt: number | null;
  readonly terminals: readonly TerminalInfo[];
}

export const TERMINAL_STATUSES = ['running', 'exited', 'lost'] as const;

export interface TerminalInfo {
  readonly key: string;
  readonly streamId: number;
  readonly status: (typeof TERMINAL_STATUSES)[number];
  readonly cols: number;
  readonly rows: number;
  readonly exitCode: number | null;
  readonly viewers: number;
}

/**
 * A process's secrets-in-the-sandbox (ADR 0152), opened by the Worker for one process start and
 * passed straight through to sandboxd: never stored by the gateway, never logged.
 */
export const SecretEnv = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(32768));

export const TerminalKey = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a short lowercase name');

export const OpenTerminalInput = z.strictObject({
  key: TerminalKey,
  command: z.array(z.string()).min(1).optional(),
  cwd: z.string().startsWith('/').optional(),
  env: z.record(z.string(), z.string()).optional(),
  cols: z.number().int().min(1).max(1000).default(80),
  rows: z.number().int().min(1).max(1000).default(24),
});
export type OpenTerminalInput = z.input<typeof OpenTerminalInput>;

export const ExecInput = z.strictObject({
  command: z.array(z.string()).min(1),
  cwd: z.string().startsWith('/').optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(24 * 3600 * 1000)
    .optional(),
  /** Written to the process's stdin, which is then closed. */
  stdin: z
    .string()
    .max(1024 * 1024)
    .optional(),
});
export type ExecInput = z.input<typeof ExecInput>;

/** One NDJSON line of the stream `exec()` returns. Output is UTF-8 text (lossy for binary). */
export type ExecEvent =
  | { readonly type: 'started'; readonly streamId: number }
  | { readonly type: 'stdout' | 'stderr'; readonly data: string }
  | { readonly type: 'gap'; readonly bytes: number }
  | {
      readonly type: 'exit';
      readonly code: number;
      readonly signal: number;
      readonly timedOut: boolean;
    }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

export type GatewayError<C extends string> = {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
};
