import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  AGENT_PACKAGES,
  AGENT_RUNTIMES,
  type AgentRuntime,
  VERIFIED_AGENT_VERSIONS,
} from '@airlock/schema/plan';
import semver from 'semver';
import { npmRegistryUrl } from './npm-registry.ts';
import { ROOT } from './paths.ts';
import { CliError } from './process.ts';

// `./dev agents check [--run]`: the scheduled check of the agent CLIs
// (ADR 0150). It asks the npm registry for each runtime's latest CLI and
// reports which is newer than the version Airlock verified; with --run it runs
// the credentialless suite (every runtime end to end, the quiet check
// included) with the newer versions installed instead, and reports whether it
// passes. Exit status: 0 when every CLI is the verified one or the suite
// passed against the newer ones, 1 when it failed.

export interface CliStatus {
  readonly runtime: AgentRuntime;
  readonly verified: string;
  readonly latest: string;
  readonly newer: boolean;
}

/** -1, 0, 1 by semver precedence (pre-releases sort before their release); npm's own semver. */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

export function statusOf(runtime: AgentRuntime, latest: string): CliStatus {
  const verified = VERIFIED_AGENT_VERSIONS[runtime];
  return { runtime, verified, latest, newer: compareVersions(latest, verified) > 0 };
}

/** The report's lines, one per runtime. */
export function describeStatus(rows: readonly CliStatus[]): string[] {
  return rows.map(
    (r) =>
      `${r.runtime.padEnd(12)} ${AGENT_PACKAGES[r.runtime].padEnd(26)} verified ${r.verified.padEnd(10)} latest ${r.latest.padEnd(10)} ${r.newer ? 'NEWER AVAILABLE' : 'up to date'}`,
  );
}

function latestOf(runtime: AgentRuntime, registry: string): string {
  try {
    return execFileSync(
      'npm',
      ['view', `${AGENT_PACKAGES[runtime]}@latest`, 'version', '--registry', registry],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ).trim();
  } catch (error) {
    throw new CliError(`npm view ${AGENT_PACKAGES[runtime]} failed: ${String(error).slice(0, 300)}`);
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export async function agentsCommand(args: readonly string[]): Promise<void> {
  const [sub = 'check', ...rest] = args;
  if (sub !== 'check') throw new CliError(`unknown agents command '${sub}' (use: check [--run])`);
  const registry = npmRegistryUrl();
  if (registry === undefined) throw new CliError('no npm registry configured (npm config get registry)');
  const rows = AGENT_RUNTIMES.map((runtime) => statusOf(runtime, latestOf(runtime, registry)));
  for (const line of describeStatus(rows)) say(line);
  const newer = rows.filter((r) => r.newer);
  if (newer.length === 0) {
    say('every agent CLI is the version Airlock verified');
    return;
  }
  if (!rest.includes('--run')) {
    say('newer CLIs exist; `./dev agents check --run` runs the credentialless suite against them');
    return;
  }
  const versions = Object.fromEntries(newer.map((r) => [r.runtime, r.latest]));
  say(`running the credentialless suite with ${newer.map((r) => `${r.runtime} ${r.latest}`).join(', ')}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      join(ROOT, 'dev'),
      ['test', 'vitest', '--project', 'local-dev', 'e2e/credentialless'],
      {
        cwd: ROOT,
        env: { ...process.env, AIRLOCK_E2E_AGENT_VERSIONS: JSON.stringify(versions) },
        stdio: 'inherit',
      },
    );
    child.once('error', () => resolve(127));
    child.once('exit', (c) => resolve(c ?? 1));
  });
  if (code === 0)
    say(
      `the suite passes against ${newer.map((r) => `${r.runtime} ${r.latest}`).join(', ')}: update VERIFIED_AGENT_VERSIONS (schema/plan/agents.ts) to adopt them`,
    );
  else
    say(
      `the suite FAILS against ${newer.map((r) => `${r.runtime} ${r.latest}`).join(', ')}: keep the verified versions`,
    );
  process.exitCode = code === 0 ? 0 : 1;
}
