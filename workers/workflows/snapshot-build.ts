import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from 'cloudflare:workers';
import { NonRetryableError } from 'cloudflare:workflows';
import type { Env } from '../lib/env.ts';

export interface SnapshotBuildParams {
  readonly snapshotId: string;
}

/** Publish → temp sandbox → agent runtime, repos, setup script → captured image (see DESIGN.md §5). */
export class SnapshotBuildWorkflow extends WorkflowEntrypoint<Env, SnapshotBuildParams> {
  override async run(event: WorkflowEvent<SnapshotBuildParams>, _step: WorkflowStep): Promise<void> {
    throw new NonRetryableError(
      `snapshot builds are not available in this build (snapshot ${event.payload.snapshotId})`,
    );
  }
}
