import { VERIFIED_AGENT_VERSIONS } from '@airlock/schema/plan';
import { describe, expect, it } from 'vitest';
import { compareVersions, describeStatus, statusOf } from './agents-check.ts';

// The scheduled check's decisions: which registry version counts as newer
// than the verified one, and the report it prints.

describe('./dev agents check', () => {
  it('orders versions by semver precedence, pre-releases before their release', () => {
    expect(compareVersions('0.171.0', '0.169.0')).toBe(1);
    expect(compareVersions('0.169.0', '0.169.0')).toBe(0);
    expect(compareVersions('0.169.0', '0.170.0')).toBe(-1);
    expect(compareVersions('1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('2.0.0-beta.1', '2.0.0')).toBe(-1);
    expect(compareVersions('2.0.0', '2.0.0-beta.1')).toBe(1);
    // Numeric pre-release identifiers compare as numbers, not strings.
    expect(compareVersions('2.0.0-beta.10', '2.0.0-beta.2')).toBe(1);
  });

  it('reports a newer CLI, and the verified one as up to date', () => {
    const rows = [statusOf('codex', '0.171.0'), statusOf('opencode', VERIFIED_AGENT_VERSIONS.opencode)];
    expect(rows.map((r) => r.newer)).toEqual([true, false]);
    const report = describeStatus(rows);
    expect(report[0]).toMatch(
      /codex\s+@openai\/codex\s+verified 0\.169\.0\s+latest 0\.171\.0\s+NEWER AVAILABLE/,
    );
    expect(report[1]).toMatch(/up to date$/);
    // An older "latest" (a yanked release) is not newer.
    expect(statusOf('codex', '0.160.0').newer).toBe(false);
  });
});
