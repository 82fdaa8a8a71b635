import type { TestProject } from 'vitest/node';
import { startStack } from './stack.ts';

// Vitest global setup for suites that need the real services. `./dev test`
// starts one stack for the whole run and passes it in AIRLOCK_TEST_STACK;
// run on its own (`vitest --project workers`), a project starts its own.

export interface TestStackInfo {
  readonly vars: Record<string, string>;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly mailUrl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    airlock: TestStackInfo;
  }
}

export const TEST_PUBLIC_URL = 'http://127.0.0.1:8787';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const shared = process.env.AIRLOCK_TEST_STACK;
  if (shared) {
    project.provide('airlock', JSON.parse(shared) as TestStackInfo);
    return undefined;
  }
  const stack = await startStack({ publicUrl: TEST_PUBLIC_URL, env: {} });
  project.provide('airlock', {
    vars: { ...stack.vars },
    databaseUrl: stack.databaseUrl,
    redisUrl: stack.redisUrl,
    mailUrl: stack.mailUrl,
  });
  return () => stack.stop();
}
