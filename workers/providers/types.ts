import type { SandboxProvider as ProviderKind } from '@airlock/config';
import type { SandboxPurpose, SandboxResources, SandboxStartupInput } from '@airlock/schema/runner';

// What the SnapshotBuild and SessionLifecycle workflows call to get a sandbox,
// whatever runs it: Docker through a self-hosted runner, E2B, Modal. Every
// mutating call takes an `operationId`: calling again with the same one (a
// retried workflow step) is the same operation, never a second sandbox.

export type { ProviderKind };

/** How sandboxd inside this provider's sandboxes reaches its session's gateway. */
export type TunnelDial =
  /** Docker: a unix socket the runner mounts and relays to the Worker's `/tunnel/<sessionId>`. */
  | { readonly kind: 'unix-socket'; readonly socketPath: string; readonly path: string }
  /** Remote sandboxes: public WSS to the Worker (its firewall allows only that host). */
  | { readonly kind: 'url'; readonly url: string };

/** Persist this (sessions.sandbox_ref as JSON, sessions.runner_id) to reach the sandbox again. */
export interface SandboxRef {
  readonly provider: ProviderKind;
  readonly sandboxId: string;
  /** Docker: the runner holding the container. */
  readonly runnerId: string | null;
  /** The provider's own id: container id, E2B sandbox id, Modal sandbox id. */
  readonly externalId: string | null;
  /** Remote providers: the org it runs for and whose account (its sandbox-provider connection, or null for the deployment's keys). */
  readonly orgId?: string;
  readonly connectionId?: string | null;
}

/** Whose provider account a remote sandbox runs in (ADR 0163). */
export interface ProviderAccount {
  readonly orgId: string;
  /** The org's sandbox-provider connection; null: the deployment's own keys. */
  readonly connectionId: string | null;
}

export interface CreateSandboxInput {
  readonly operationId: string;
  readonly orgId: string;
  /** The session (`ses_…`) or snapshot build (`snp_…`) the sandbox serves. */
  readonly sandboxId: string;
  /** Base image or a snapshot's `imageRef`. */
  readonly image: string;
  readonly resources: SandboxResources;
  /** A session (default: read-only root filesystem) or a snapshot build. */
  readonly purpose?: SandboxPurpose;
  /** Non-secret environment only. */
  readonly env?: Readonly<Record<string, string>>;
  /** The session whose gateway the sandbox may reach; omit for a sandbox with no way out. */
  readonly tunnelSessionId?: string;
  /** Replaces the image's command (diagnostics, tests). */
  readonly command?: readonly string[];
  /** Remote providers: how long the provider may keep it at most (its own timer, the cost backstop). */
  readonly lifetimeSeconds?: number;
}

export const SANDBOX_STATUSES = ['creating', 'created', 'running', 'exited', 'destroyed', 'lost'] as const;
export type SandboxStatusName = (typeof SANDBOX_STATUSES)[number];

export interface SandboxStatus {
  readonly state: SandboxStatusName;
  readonly exitCode: number | null;
  readonly externalId: string | null;
}

export interface ExecInput {
  readonly operationId: string;
  readonly command: readonly string[];
  readonly user?: 'sandbox' | 'root';
  readonly workdir?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly stdin?: string;
  readonly timeoutSeconds?: number;
}

export interface ExecOutcome {
  readonly exitCode: number;
  /** Tails (64 KiB) of each stream. */
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface ExecOutputChunk {
  readonly seq: number;
  readonly stream: 'stdout' | 'stderr';
  readonly data: string;
}

export interface SandboxProvider {
  readonly kind: ProviderKind;
  tunnelFor(sessionId: string): TunnelDial;
  create(input: CreateSandboxInput): Promise<SandboxRef>;
  /** Start it; `startup` (with the bootstrap token) reaches sandboxd without touching disk. */
  start(ref: SandboxRef, input: { operationId: string; startup?: SandboxStartupInput }): Promise<void>;
  stop(
    ref: SandboxRef,
    input: { operationId: string; graceSeconds?: number },
  ): Promise<{ exitCode: number | null }>;
  /** Gone afterwards, whatever it was; destroying twice is fine. */
  destroy(ref: SandboxRef, input: { operationId: string }): Promise<void>;
  snapshot(
    ref: SandboxRef,
    input: { operationId: string; snapshotId: string },
  ): Promise<{ imageRef: string }>;
  exec(ref: SandboxRef, input: ExecInput): Promise<ExecOutcome>;
  /** Output of an exec so far (also while it runs), after chunk `afterSeq`: for live build logs. */
  execOutput(ref: SandboxRef, input: { operationId: string; afterSeq?: number }): Promise<ExecOutputChunk[]>;
  status(ref: SandboxRef): Promise<SandboxStatus>;
}

export const PROVIDER_ERROR_CODES = [
  /** No runner of the org is online with free capacity. */
  'no_capacity',
  /** The runner holding the sandbox is offline (its sandboxes are written off after the grace period). */
  'runner_offline',
  /** The provider has no such sandbox (any more). */
  'not_found',
  /** The operation id was used for something else, or the sandbox already exists. */
  'conflict',
  /** The provider (Docker, E2B, Modal) failed the operation; `detail` says why. */
  'failed',
  /** No answer within the operation's deadline. */
  'timeout',
  'invalid',
  'not_implemented',
] as const;
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  /** The underlying assignment error code, when there is one (`docker`, `runner_lost`, …). */
  readonly underlying: string | undefined;
  constructor(code: ProviderErrorCode, message: string, underlying?: string) {
    super(message);
    this.name = 'ProviderError';
    this.code = code;
    this.underlying = underlying;
  }
}
