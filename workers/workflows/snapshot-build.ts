import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { BuildLog } from '../builds/build-log.ts';
import {
  type BuildContext,
  beginBuild,
  failBuild,
  finishBuild,
  recordAgentVersion,
  recordSandbox,
  sandboxOf,
} from '../builds/build-record.ts';
import {
  type BuildSandbox,
  cloneRepositories,
  installAgent,
  runSetupScript,
  type StepFailure,
  scrubForCapture,
  writePlanFiles,
} from '../builds/build-steps.ts';
import { loadConfig } from '../lib/context.ts';
import { type Database, withDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { safeErrorMessage } from '../lib/log.ts';
import { gatewaySettings } from '../lifecycle/gateway-settings.ts';
import { endGateway, ProvisionError, provision, teardown } from '../lifecycle/provision.ts';
import { providerFor } from '../providers/index.ts';
import type { SandboxRef } from '../providers/types.ts';

export interface SnapshotBuildParams {
  readonly snapshotId: string;
}

// Publish → snapshot (DESIGN.md §5, ADR 0036): a temporary sandbox from the
// base image behind a gateway of its own (the version's plan plus the npm
// registry as passthrough), the agent CLI installed, repositories cloned
// through the broker, plan files written, the setup script run with its output
// streamed into snapshot_logs, then `docker commit` → ready. A setup test
// (kind `setup_test`) runs the same steps and captures nothing. Every step is
// idempotent (provider operation ids, guarded status moves, log sequence
// blocks); the sandbox and the gateway are torn down on every exit path.

/** Log blocks: each step numbers its lines from its own block (build-log.ts). */
const BLOCK = {
  begin: 0,
  provision: 1,
  agent: 2,
  clone: 3,
  files: 4,
  setup: 5,
  capture: 6,
  captured: 7,
  failed: 8,
} as const;

const RETRY_ONCE = {
  retries: { limit: 1, delay: '5 seconds', backoff: 'constant' },
  timeout: '30 minutes',
} as const;

type StepResult = { readonly ok: true } | ({ readonly ok: false } & StepFailure);

export class SnapshotBuildWorkflow extends WorkflowEntrypoint<Env, SnapshotBuildParams> {
  override async run(event: WorkflowEvent<SnapshotBuildParams>, step: WorkflowStep): Promise<void> {
    const { snapshotId } = event.payload;
    const begun = await step.do('begin', RETRY_ONCE, () =>
      this.#withDb(async (db) => {
        const outcome = await beginBuild(db, loadConfig(this.env), snapshotId);
        const log = new BuildLog(db, snapshotId, BLOCK.begin);
        if (outcome.ok)
          log.system(`build started: ${outcome.context.plan.agent.runtime} on ${outcome.context.image}`);
        await log.flush();
        return outcome;
      }),
    );
    if (!begun.ok) {
      if (!begun.finished) await this.#fail(step, snapshotId, { reason: begun.reason, exitCode: null });
      return;
    }
    const ctx = begun.context;
    let failure: StepFailure | null = null;
    try {
      const provisioned = await step.do('provision', RETRY_ONCE, () => this.#provision(ctx));
      if (!provisioned.ok) failure = provisioned;
      const ref = provisioned.ok ? provisioned.ref : null;
      const sandboxStep = (
        name: string,
        block: number,
        fn: (b: BuildSandbox, db: Database) => Promise<StepFailure | null>,
      ) =>
        step.do(name, RETRY_ONCE, () =>
          this.#withDb(async (db): Promise<StepResult> => {
            if (ref === null) throw new Error('no sandbox');
            const b: BuildSandbox = {
              provider: await providerFor(ref, { env: this.env, db, config: loadConfig(this.env) }),
              ref,
              plan: ctx.plan,
              log: new BuildLog(db, snapshotId, block),
            };
            const failed = await fn(b, db);
            await b.log.flush();
            return failed === null ? { ok: true } : { ok: false, ...failed };
          }),
        );
      const steps: Array<[string, number, (b: BuildSandbox, db: Database) => Promise<StepFailure | null>]> = [
        [
          'install agent',
          BLOCK.agent,
          async (b, db) => {
            const installed = await installAgent(b, ctx.npmRegistry);
            if ('reason' in installed) return installed;
            await recordAgentVersion(db, snapshotId, installed.version);
            return null;
          },
        ],
        ['clone repositories', BLOCK.clone, cloneRepositories],
        ['write plan files', BLOCK.files, writePlanFiles],
        ['run setup script', BLOCK.setup, (b) => runSetupScript(b, ctx.setupScript)],
      ];
      if (ctx.kind === 'snapshot') steps.push(['scrub before capture', BLOCK.capture, scrubForCapture]);
      for (const [name, block, fn] of steps) {
        if (failure !== null) break;
        const result = await sandboxStep(name, block, fn);
        if (!result.ok) failure = result;
      }
      if (failure === null && ref !== null) {
        const imageRef =
          ctx.kind === 'snapshot'
            ? await step.do('capture', RETRY_ONCE, () =>
                this.#withDb(async (db) => {
                  const provider = await providerFor(ref, {
                    env: this.env,
                    db,
                    config: loadConfig(this.env),
                  });
                  const log = new BuildLog(db, snapshotId, BLOCK.captured);
                  const { imageRef } = await provider.snapshot(ref, { operationId: 'capture', snapshotId });
                  log.system(`captured ${imageRef}`);
                  await log.flush();
                  return imageRef;
                }),
              )
            : null;
        await step.do('ready', RETRY_ONCE, () =>
          this.#withDb((db) => finishBuild(db, { snapshotId, orgId: ctx.orgId, kind: ctx.kind, imageRef })),
        );
      }
    } catch (error) {
      failure = { reason: `The build stopped: ${safeErrorMessage(error)}`, exitCode: null };
    } finally {
      await step
        .do('teardown', RETRY_ONCE, () => this.#teardown(ctx))
        .catch(() => {
          // The runner reconciles what it still holds; the status below is what matters.
        });
    }
    if (failure !== null) await this.#fail(step, snapshotId, failure);
  }

  async #provision(
    ctx: BuildContext,
  ): Promise<{ ok: true; ref: SandboxRef } | ({ ok: false } & StepFailure)> {
    return this.#withDb(async (db) => {
      const log = new BuildLog(db, ctx.snapshotId, BLOCK.provision);
      log.system('starting a temporary sandbox behind the build gateway');
      await log.flush();
      try {
        const config = loadConfig(this.env);
        const ref = await provision(
          { env: this.env, config, db },
          {
            orgId: ctx.orgId,
            gatewayId: ctx.snapshotId,
            plan: ctx.plan,
            attribution: { startedBy: ctx.createdBy, triggerId: null, triggerDeliveryId: null },
            // A build is not interactive: it is bounded by its steps' timeouts, not by idleness.
            settings: { ...gatewaySettings(config.limits), idleTimeoutSeconds: 4 * 3600 },
            image: ctx.image,
            resources: ctx.resources,
            purpose: 'build',
            provider: ctx.provider,
            providerConnectionId: ctx.providerConnectionId,
            lifetimeSeconds: 4 * 3600,
            tunnelTimeoutMs: 120_000,
            onCreated: (ref) => recordSandbox(db, ctx.snapshotId, ref),
          },
        );
        log.system('sandbox connected');
        await log.flush();
        return { ok: true as const, ref };
      } catch (error) {
        if (!(error instanceof ProvisionError)) throw error;
        return { ok: false as const, reason: error.message, exitCode: null };
      }
    });
  }

  async #teardown(ctx: BuildContext): Promise<void> {
    await this.#withDb(async (db) => {
      const ref = await sandboxOf(db, ctx.snapshotId);
      if (ref !== null)
        await teardown({ env: this.env, db, config: loadConfig(this.env) }, ref, {
          attempt: 'build',
          graceSeconds: 2,
        });
      await endGateway(this.env, ctx.snapshotId, 'the snapshot build has ended');
    });
  }

  async #fail(step: WorkflowStep, snapshotId: string, failure: StepFailure): Promise<void> {
    await step.do('failed', RETRY_ONCE, () =>
      this.#withDb(async (db) => {
        const log = new BuildLog(db, snapshotId, BLOCK.failed);
        log.system(`build failed: ${failure.reason.split('\n')[0] ?? ''}`);
        await log.flush();
        await failBuild(db, { snapshotId, reason: failure.reason, exitCode: failure.exitCode });
      }),
    );
  }

  #withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    return withDb(loadConfig(this.env), fn);
  }
}
