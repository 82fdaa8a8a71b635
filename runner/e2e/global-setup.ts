import type { TestProject } from 'vitest/node';
import type { TestStackInfo } from '../../local-dev/test-global-setup.ts';
import { startRunnerHarness } from './harness.ts';

// The runner's end-to-end suites need the real Worker over HTTP (the runner
// is a separate Node process): one harness Worker for the whole project.
// Runs after the stack's own global setup, which provides `airlock`.

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack: TestStackInfo = project.getProvidedContext().airlock;
  const harness = await startRunnerHarness(stack);
  project.provide('runnerE2E', harness.info);
  return () => harness.stop();
}
