import type { Env } from '../lib/env.ts';

// A claimed delivery's run is a TriggerRun Workflow instance named by the
// delivery id: creating it twice is harmless (the second finds the first), so
// the ingress, the scheduler, a redelivery and the sweep can all just ask.

export async function startRun(env: Env, deliveryId: string): Promise<void> {
  try {
    await env.TRIGGER_RUN.create({ id: deliveryId, params: { deliveryId } });
  } catch (error) {
    try {
      await env.TRIGGER_RUN.get(deliveryId);
    } catch {
      throw error;
    }
  }
}
