import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startOpenAiStandIn } from '../../../local-dev/standins/openai.ts';

// Vitest global setup (Node side) for control-plane suites that call an
// upstream: the OpenAI stand-in, accepting exactly one key, on loopback.

export interface ControlPlaneStandIns {
  readonly openaiUrl: string;
  readonly openaiKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlaneStandIns: ControlPlaneStandIns;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const openaiKey = `sk-standin-${randomBytes(16).toString('hex')}`;
  const openai = await startOpenAiStandIn({ apiKey: openaiKey });
  project.provide('controlPlaneStandIns', { openaiUrl: openai.url, openaiKey });
  return () => openai.close();
}
