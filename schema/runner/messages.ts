import { z } from 'zod';
import {
  Assignment,
  AssignmentId,
  AssignmentOutcome,
  ContainerState,
  RunnerId,
  SandboxId,
} from './assignments.ts';

// The runner ↔ RunnerHub WebSocket: one JSON object per text message, each
// side validating what it receives. See PROTOCOL.md for the order of things.

export const RUNNER_PROTOCOL_VERSION = 1;
/** Largest message either side sends or accepts. */
export const MAX_RUNNER_MESSAGE_BYTES = 1024 * 1024;
/** Largest `output` chunk. */
export const MAX_OUTPUT_CHUNK = 16 * 1024;

/** A container the runner owns (labelled with its runner id), as Docker reports it. */
export const SandboxReport = z.strictObject({
  sandboxId: SandboxId,
  containerId: z.string().min(1).max(128),
  /** The create assignment that made it (container label). */
  assignmentId: AssignmentId,
  state: ContainerState,
  exitCode: z.number().int().nullable(),
});
export type SandboxReport = z.infer<typeof SandboxReport>;

export const HostInfo = z.strictObject({
  hostname: z.string().max(255),
  platform: z.string().max(64),
  arch: z.string().max(64),
  kernel: z.string().max(255),
  cpus: z.number().int().nonnegative(),
  memoryMb: z.number().int().nonnegative(),
  dockerVersion: z.string().max(64),
});
export type HostInfo = z.infer<typeof HostInfo>;

const sandboxes = z.array(SandboxReport).max(10_000);
/** Assignments the runner is executing right now (so the hub does not redeliver them). */
const inFlight = z.array(AssignmentId).max(10_000);

export const RunnerHello = z.strictObject({
  type: z.literal('hello'),
  protocol: z.literal(RUNNER_PROTOCOL_VERSION),
  version: z.string().min(1).max(64),
  capacity: z.number().int().min(0).max(10_000),
  host: HostInfo,
  sandboxes,
  inFlight,
});

export const RunnerHeartbeat = z.strictObject({ type: z.literal('heartbeat'), sandboxes, inFlight });
export const RunnerAccepted = z.strictObject({ type: z.literal('accepted'), id: AssignmentId });
export const RunnerResult = z.strictObject({
  type: z.literal('result'),
  id: AssignmentId,
  outcome: AssignmentOutcome,
});
export const RunnerOutput = z.strictObject({
  type: z.literal('output'),
  id: AssignmentId,
  seq: z.number().int().nonnegative(),
  stream: z.enum(['stdout', 'stderr']),
  data: z.string().max(MAX_OUTPUT_CHUNK),
});

export const RunnerMessage = z.discriminatedUnion('type', [
  RunnerHello,
  RunnerHeartbeat,
  RunnerAccepted,
  RunnerResult,
  RunnerOutput,
]);
export type RunnerMessage = z.infer<typeof RunnerMessage>;
export type RunnerHello = z.infer<typeof RunnerHello>;
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeat>;

export const HubWelcome = z.strictObject({
  type: z.literal('welcome'),
  runnerId: RunnerId,
  /** Send a heartbeat this often. */
  heartbeatMs: z.number().int().positive(),
  serverTime: z.number().int(),
});
export const HubAssign = z.strictObject({ type: z.literal('assign'), assignment: Assignment });
/** The hub stored this result; the runner may forget it. */
export const HubAck = z.strictObject({ type: z.literal('ack'), id: AssignmentId });
export const HubError = z.strictObject({
  type: z.literal('error'),
  code: z.enum(['protocol', 'too_large', 'unsupported_version']),
  message: z.string().max(4096),
});

export const HubMessage = z.discriminatedUnion('type', [HubWelcome, HubAssign, HubAck, HubError]);
export type HubMessage = z.infer<typeof HubMessage>;

/** Parse one WebSocket text message against `schema`; a value, never a throw. */
export function parseMessage<S extends z.ZodType>(
  schema: S,
  raw: string | ArrayBuffer,
): { ok: true; message: z.output<S> } | { ok: false; error: string } {
  if (typeof raw !== 'string') return { ok: false, error: 'binary messages are not part of the protocol' };
  if (raw.length > MAX_RUNNER_MESSAGE_BYTES) return { ok: false, error: 'message too large' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `${issue?.path.join('.') || '(message)'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, message: parsed.data };
}
