import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { NonRetryableError } from 'cloudflare:workflows';
import type { Env } from '../lib/env.ts';

export interface SessionLifecycleParams {
  readonly sessionId: string;
}

/** Quota → plan → gateway → provision → tunnel → agent → stop → release (see DESIGN.md §5). */
export class SessionLifecycleWorkflow extends WorkflowEntrypoint<Env, SessionLifecycleParams> {
  override async run(event: WorkflowEvent<SessionLifecycleParams>, _step: WorkflowStep): Promise<void> {
    throw new NonRetryableError(
      `session lifecycles are not available in this build (session ${event.payload.sessionId})`,
    );
  }
}
