import { z } from 'zod';

// Work the control plane hands a runner through its RunnerHub. Every
// assignment has a caller-chosen id: the hub stores it durably and the runner
// executes it at most once per id (create/stop/destroy/snapshot are also safe
// to repeat after a crash; an exec interrupted by a crash is failed, never
// re-run). See PROTOCOL.md.

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

/** What a sandbox serves: a session (`ses_…`) or a snapshot build (`snp_…`). Names its container. */
export const SandboxId = z.string().regex(new RegExp(`^(ses|snp)_${ULID}$`), 'a session or snapshot id');
export const SessionId = z.string().regex(new RegExp(`^ses_${ULID}$`), 'a session id');
export const SnapshotId = z.string().regex(new RegExp(`^snp_${ULID}$`), 'a snapshot id');
export const OrgId = z.string().regex(new RegExp(`^org_${ULID}$`), 'an org id');
export const RunnerId = z.string().regex(new RegExp(`^rnr_${ULID}$`), 'a runner id');

/** Chosen by the caller so a retried request is the same assignment (e.g. `ses_…:create:1`). */
export const AssignmentId = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{8,160}$/, '8-160 characters of [A-Za-z0-9_.:-]');

/**
 * From the profile version (disk: the profile's, else `sandbox.default_disk_mb`); applied as
 * Docker's NanoCpus, Memory (= MemorySwap, no swap) and PidsLimit, and as the size of the
 * sandbox's own filesystem, which holds everything it can write (ADR 0111).
 */
export const SandboxResources = z.strictObject({
  cpus: z.number().positive().max(64),
  memoryMb: z
    .number()
    .int()
    .min(64)
    .max(256 * 1024),
  pids: z.number().int().min(16).max(65_536),
  diskMb: z
    .number()
    .int()
    .min(64)
    .max(1024 * 1024),
});

/**
 * What the sandbox is for. A session's root filesystem is read-only; a snapshot build's stays
 * writable for its root steps (agent prefix, links), and its agent prefix is on its disk too.
 */
export const SANDBOX_PURPOSES = ['session', 'build'] as const;
export type SandboxPurpose = (typeof SANDBOX_PURPOSES)[number];

const MAX_ENV_BYTES = 64 * 1024;
/** Non-secret environment only (placeholders like `OPENAI_API_KEY=airlock-brokered`). */
export const SandboxEnv = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string())
  .refine(
    (env) => Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length + 2, 0) <= MAX_ENV_BYTES,
    `at most ${MAX_ENV_BYTES} bytes of environment`,
  );

const Command = z
  .array(z.string().max(16 * 1024))
  .min(1)
  .max(256);

export const CreateAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('create'),
  sandboxId: SandboxId,
  /** Must be the runner's org; the hub refuses anything else. */
  orgId: OrgId,
  /** Base image tag or a snapshot's image ref. */
  image: z.string().min(1).max(512),
  resources: SandboxResources,
  /** Default: a session. */
  purpose: z.enum(SANDBOX_PURPOSES).optional(),
  env: SandboxEnv.default({}),
  /**
   * The gateway this sandbox's unix socket reaches (`/tunnel/<id>` on the Worker): a session's, or
   * a snapshot build's (ADR 0035). Without it the sandbox gets no socket at all: no way out.
   */
  tunnelSessionId: SandboxId.optional(),
  /** Replaces the image's command (diagnostics and tests); sessions run the default, sandboxd. */
  command: Command.optional(),
});

export const StartAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('start'),
  sandboxId: SandboxId,
  /**
   * sandboxd's startup input (sessionId, bootstrapToken, gateway, env…), written to the container's
   * stdin and never to disk. The hub drops it from storage once the assignment settles.
   */
  startup: z.record(z.string(), z.unknown()).optional(),
});

export const StopAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('stop'),
  sandboxId: SandboxId,
  /** SIGTERM, then SIGKILL after this many seconds. */
  graceSeconds: z.number().int().min(0).max(300).default(10),
});

export const DestroyAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('destroy'),
  sandboxId: SandboxId,
  /** Only this container (the hub's orphan clean-up); otherwise the sandbox's container, if any. */
  containerId: z.string().min(1).max(128).optional(),
});

export const SnapshotAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('snapshot'),
  sandboxId: SandboxId,
  /** The image is tagged `airlock/snapshot:<snapshotId>`. */
  snapshotId: SnapshotId,
});

export const ExecAssignment = z.strictObject({
  id: AssignmentId,
  kind: z.literal('exec'),
  sandboxId: SandboxId,
  command: Command,
  user: z.enum(['sandbox', 'root']).default('sandbox'),
  workdir: z.string().startsWith('/').max(1024).optional(),
  env: SandboxEnv.default({}),
  stdin: z
    .string()
    .max(1024 * 1024)
    .optional(),
  timeoutSeconds: z.number().int().min(1).max(3600).default(600),
});

export const Assignment = z.discriminatedUnion('kind', [
  CreateAssignment,
  StartAssignment,
  StopAssignment,
  DestroyAssignment,
  SnapshotAssignment,
  ExecAssignment,
]);

export type Assignment = z.output<typeof Assignment>;
export type AssignmentInput = z.input<typeof Assignment>;
export type AssignmentKind = Assignment['kind'];
export type CreateAssignment = z.output<typeof CreateAssignment>;
export type StartAssignment = z.output<typeof StartAssignment>;
export type StopAssignment = z.output<typeof StopAssignment>;
export type DestroyAssignment = z.output<typeof DestroyAssignment>;
export type SnapshotAssignment = z.output<typeof SnapshotAssignment>;
export type ExecAssignment = z.output<typeof ExecAssignment>;
export type SandboxResources = z.output<typeof SandboxResources>;

/** Kinds that are safe to execute again after a runner crash (they converge on a state). */
export const REDELIVERABLE_KINDS: ReadonlySet<AssignmentKind> = new Set([
  'create',
  'start',
  'stop',
  'destroy',
  'snapshot',
]);

/** Docker's container states, as reported. */
export const CONTAINER_STATES = [
  'created',
  'running',
  'paused',
  'restarting',
  'exited',
  'dead',
  'removing',
] as const;
export const ContainerState = z.enum(CONTAINER_STATES);
export type ContainerState = z.infer<typeof ContainerState>;

const OUTPUT_TAIL = 64 * 1024;

export const AssignmentResult = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('create'), containerId: z.string().min(1), state: ContainerState }),
  z.strictObject({ kind: z.literal('start'), state: ContainerState }),
  z.strictObject({ kind: z.literal('stop'), exitCode: z.number().int().nullable() }),
  /** `existed: false` when there was nothing to destroy (a repeated destroy). */
  z.strictObject({ kind: z.literal('destroy'), existed: z.boolean() }),
  z.strictObject({
    kind: z.literal('snapshot'),
    /** `sha256:…` image id; sessions start from it. */
    imageRef: z.string().min(1),
    tag: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('exec'),
    exitCode: z.number().int(),
    /** The last 64 KiB of each stream; the whole output was streamed as `output` messages. */
    stdout: z.string().max(OUTPUT_TAIL),
    stderr: z.string().max(OUTPUT_TAIL),
    truncated: z.boolean(),
    timedOut: z.boolean(),
    durationMs: z.number().int().nonnegative(),
  }),
]);
export type AssignmentResult = z.infer<typeof AssignmentResult>;

export const ASSIGNMENT_ERROR_CODES = [
  /** The assignment does not make sense (unknown sandbox for this runner, bad image…). */
  'invalid',
  /** The sandbox's container does not exist. */
  'not_found',
  /** Another assignment owns this sandbox's container. */
  'conflict',
  /** The Docker engine refused or failed. */
  'docker',
  /** Not settled before its deadline. */
  'timeout',
  /** An exec was running when the runner crashed; it is not re-run. */
  'interrupted',
  /** The runner went away for longer than the grace period. */
  'runner_lost',
  'internal',
] as const;
export const AssignmentErrorCode = z.enum(ASSIGNMENT_ERROR_CODES);
export type AssignmentErrorCode = z.infer<typeof AssignmentErrorCode>;

export const AssignmentError = z.strictObject({
  code: AssignmentErrorCode,
  message: z.string().max(4096),
});
export type AssignmentError = z.infer<typeof AssignmentError>;

export const AssignmentOutcome = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), result: AssignmentResult }),
  z.strictObject({ ok: z.literal(false), error: AssignmentError }),
]);
export type AssignmentOutcome = z.infer<typeof AssignmentOutcome>;
