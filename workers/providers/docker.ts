import type { AssignmentView, RunnerHub, SubmitResult } from '@airlock/durable-objects/runner-hub';
import { runners } from '@airlock/schema/db';
import {
  type AssignmentInput,
  type AssignmentResult,
  SANDBOX_GATEWAY_SOCKET,
  type SandboxStartupInput,
} from '@airlock/schema/runner';
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../lib/db.ts';
import {
  type CreateSandboxInput,
  type ExecInput,
  type ExecOutcome,
  type ExecOutputChunk,
  ProviderError,
  type SandboxProvider,
  type SandboxRef,
  type SandboxStatus,
} from './types.ts';

// Docker sandboxes on self-hosted runners: each call becomes an assignment in
// the RunnerHub of the runner holding the sandbox (for a create: the org's
// online runner with the most room that accepts it), and the call waits for
// the runner's result. Assignment ids are `<sandboxId>:<operationId>`, so a
// retried call is the same assignment (ADR 0031).

/** How long one `wait` RPC may hold; longer operations loop. */
const WAIT_SLICE_MS = 60_000;

type Hubs = DurableObjectNamespace<RunnerHub>;

export class DockerRunnerProvider implements SandboxProvider {
  readonly kind = 'docker' as const;
  readonly #hubs: Hubs;
  readonly #db: Database;

  constructor(deps: { hubs: Hubs; db: Database }) {
    this.#hubs = deps.hubs;
    this.#db = deps.db;
  }

  tunnelFor(sessionId: string) {
    return { kind: 'unix-socket', socketPath: SANDBOX_GATEWAY_SOCKET, path: `/tunnel/${sessionId}` } as const;
  }

  async create(input: CreateSandboxInput): Promise<SandboxRef> {
    const assignment: AssignmentInput = {
      id: assignmentId(input.sandboxId, input.operationId),
      kind: 'create',
      sandboxId: input.sandboxId,
      orgId: input.orgId,
      image: input.image,
      resources: input.resources,
      ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
      env: { ...input.env },
      ...(input.tunnelSessionId === undefined ? {} : { tunnelSessionId: input.tunnelSessionId }),
      ...(input.command === undefined ? {} : { command: [...input.command] }),
    };
    const candidates = await this.#candidates(input.orgId);
    // A retried create finishes where the first attempt landed, never on a second runner.
    for (const runnerId of candidates) {
      const earlier = await this.#hub(runnerId).assignment(assignment.id);
      if (earlier === null) continue;
      const result = await this.#settle(runnerId, { ok: true, assignment: earlier }, 'create');
      return { provider: 'docker', sandboxId: input.sandboxId, runnerId, externalId: result.containerId };
    }
    const refused: string[] = [];
    for (const runnerId of candidates) {
      const submitted = await this.#hub(runnerId).submit(assignment);
      if (!submitted.ok && ['at_capacity', 'runner_offline'].includes(submitted.code)) {
        refused.push(`${runnerId}: ${submitted.message}`);
        continue;
      }
      const result = await this.#settle(runnerId, submitted, 'create');
      return { provider: 'docker', sandboxId: input.sandboxId, runnerId, externalId: result.containerId };
    }
    throw new ProviderError(
      'no_capacity',
      refused.length === 0
        ? 'No runner of this org is online.'
        : `No runner of this org accepted the sandbox (${refused.join('; ')}).`,
    );
  }

  async start(ref: SandboxRef, input: { operationId: string; startup?: SandboxStartupInput }): Promise<void> {
    await this.#run(ref, 'start', {
      id: assignmentId(ref.sandboxId, input.operationId),
      kind: 'start',
      sandboxId: ref.sandboxId,
      ...(input.startup === undefined ? {} : { startup: { ...input.startup } }),
    });
  }

  async stop(ref: SandboxRef, input: { operationId: string; graceSeconds?: number }) {
    const result = await this.#run(ref, 'stop', {
      id: assignmentId(ref.sandboxId, input.operationId),
      kind: 'stop',
      sandboxId: ref.sandboxId,
      ...(input.graceSeconds === undefined ? {} : { graceSeconds: input.graceSeconds }),
    });
    return { exitCode: result.exitCode };
  }

  async destroy(ref: SandboxRef, input: { operationId: string }): Promise<void> {
    try {
      await this.#run(ref, 'destroy', {
        id: assignmentId(ref.sandboxId, input.operationId),
        kind: 'destroy',
        sandboxId: ref.sandboxId,
      });
    } catch (error) {
      // A runner gone past its grace period has written the sandbox off; when it comes back,
      // the container is an orphan and is destroyed then.
      if (error instanceof ProviderError && error.code === 'runner_offline') return;
      throw error;
    }
  }

  async snapshot(ref: SandboxRef, input: { operationId: string; snapshotId: string }) {
    const result = await this.#run(ref, 'snapshot', {
      id: assignmentId(ref.sandboxId, input.operationId),
      kind: 'snapshot',
      sandboxId: ref.sandboxId,
      snapshotId: input.snapshotId,
    });
    return { imageRef: result.imageRef };
  }

  async exec(ref: SandboxRef, input: ExecInput): Promise<ExecOutcome> {
    const { kind: _kind, ...result } = await this.#run(ref, 'exec', {
      id: assignmentId(ref.sandboxId, input.operationId),
      kind: 'exec',
      sandboxId: ref.sandboxId,
      command: [...input.command],
      ...(input.user === undefined ? {} : { user: input.user }),
      ...(input.workdir === undefined ? {} : { workdir: input.workdir }),
      ...(input.env === undefined ? {} : { env: { ...input.env } }),
      ...(input.stdin === undefined ? {} : { stdin: input.stdin }),
      ...(input.timeoutSeconds === undefined ? {} : { timeoutSeconds: input.timeoutSeconds }),
    });
    return result;
  }

  async execOutput(
    ref: SandboxRef,
    input: { operationId: string; afterSeq?: number },
  ): Promise<ExecOutputChunk[]> {
    return this.#hub(requireRunner(ref)).output(
      assignmentId(ref.sandboxId, input.operationId),
      input.afterSeq ?? -1,
    );
  }

  async status(ref: SandboxRef): Promise<SandboxStatus> {
    const sandbox = await this.#hub(requireRunner(ref)).sandbox(ref.sandboxId);
    if (sandbox === null) throw new ProviderError('not_found', `No sandbox ${ref.sandboxId} on its runner.`);
    return { state: sandbox.state, exitCode: sandbox.exitCode, externalId: sandbox.containerId };
  }

  /** Online runners of the org, most room first. The hub has the final say on capacity. */
  async #candidates(orgId: string): Promise<string[]> {
    const rows = await this.#db
      .select({ id: runners.id })
      .from(runners)
      .where(
        and(
          eq(runners.orgId, orgId),
          eq(runners.status, 'online'),
          eq(runners.provider, 'docker'),
          isNull(runners.revokedAt),
        ),
      )
      .orderBy(
        asc(sql`${runners.activeSandboxes}::float / greatest(${runners.capacity}, 1)`),
        desc(runners.lastHeartbeatAt),
      )
      .limit(20);
    return rows.map((r) => r.id);
  }

  async #run<K extends AssignmentResult['kind']>(
    ref: SandboxRef,
    kind: K,
    assignment: AssignmentInput,
  ): Promise<Extract<AssignmentResult, { kind: K }>> {
    const runnerId = requireRunner(ref);
    const submitted = await this.#hub(runnerId).submit(assignment);
    return this.#settle(runnerId, submitted, kind);
  }

  async #settle<K extends AssignmentResult['kind']>(
    runnerId: string,
    submitted: SubmitResult,
    kind: K,
  ): Promise<Extract<AssignmentResult, { kind: K }>> {
    if (!submitted.ok) throw submitError(submitted);
    let current: AssignmentView | null = submitted.assignment;
    while (current !== null && current.outcome === null) {
      const left = current.deadlineAt - Date.now();
      current = await this.#hub(runnerId).wait(
        current.id,
        Math.max(1000, Math.min(left + 5000, WAIT_SLICE_MS)),
      );
    }
    if (current === null) throw new ProviderError('not_found', 'The assignment disappeared from its hub.');
    const outcome = current.outcome;
    if (outcome === null) throw new ProviderError('timeout', 'The runner did not answer in time.');
    if (!outcome.ok) throw outcomeError(outcome.error.code, outcome.error.message);
    if (outcome.result.kind !== kind)
      throw new ProviderError(
        'conflict',
        `Assignment ${current.id} is a ${outcome.result.kind}, not a ${kind}.`,
      );
    return outcome.result as Extract<AssignmentResult, { kind: K }>;
  }

  #hub(runnerId: string): DurableObjectStub<RunnerHub> {
    return this.#hubs.get(this.#hubs.idFromName(runnerId));
  }
}

function assignmentId(sandboxId: string, operationId: string): string {
  return `${sandboxId}:${operationId}`;
}

function requireRunner(ref: SandboxRef): string {
  if (ref.provider !== 'docker' || ref.runnerId === null)
    throw new ProviderError('invalid', 'This sandbox reference is not a Docker sandbox on a runner.');
  return ref.runnerId;
}

function submitError(refused: Extract<SubmitResult, { ok: false }>): ProviderError {
  switch (refused.code) {
    case 'runner_offline':
      return new ProviderError('runner_offline', refused.message, refused.code);
    case 'unknown_sandbox':
      return new ProviderError('not_found', refused.message, refused.code);
    case 'conflict':
      return new ProviderError('conflict', refused.message, refused.code);
    case 'at_capacity':
      return new ProviderError('no_capacity', refused.message, refused.code);
    case 'invalid':
    case 'wrong_org':
      return new ProviderError('invalid', refused.message, refused.code);
  }
}

function outcomeError(code: string, message: string): ProviderError {
  switch (code) {
    case 'not_found':
      return new ProviderError('not_found', message, code);
    case 'conflict':
      return new ProviderError('conflict', message, code);
    case 'timeout':
      return new ProviderError('timeout', message, code);
    case 'runner_lost':
      return new ProviderError('runner_offline', message, code);
    case 'invalid':
      return new ProviderError('invalid', message, code);
    default:
      return new ProviderError('failed', message, code);
  }
}
