import { describe, expect, it } from 'vitest';
import { ALSO_PROVEN, adversarialLine, tallyAttacks, type VitestFileResult } from './adversarial-summary.ts';

const root = '/repo';
const file = (path: string, ...tests: [string, string][]): VitestFileResult => ({
  name: `${root}/${path}`,
  assertionResults: tests.map(([title, status]) => ({ title, status })),
});
const CREDENTIALLESS = 'local-dev/e2e/credentialless.test.ts';
// The credentialless proofs: the scan and one bypass test per agent runtime (ADR 0153).
const credentialless = ALSO_PROVEN.filter((p) => p.file === CREDENTIALLESS);
const runnerKill = ALSO_PROVEN.find((p) => p.file === 'local-dev/e2e/session-lifecycle.test.ts');
if (credentialless.length !== 4 || runnerKill === undefined) throw new Error('list changed');

describe('the adversarial summary line', () => {
  it('counts every test of an attack file, and the listed proofs in bigger files, and nothing else', () => {
    const tally = tallyAttacks(root, [
      file(
        'local-dev/e2e/adversarial/tokens.attack.test.ts',
        ['forged kid', 'passed'],
        ['alg none', 'passed'],
      ),
      file('workers/control-plane/connections/destination.attack.test.ts', ['base_url', 'passed']),
      file('local-dev/e2e/secret-scanner.test.ts', ['finds a secret in a file', 'passed']),
      file(CREDENTIALLESS, ...credentialless.map((p): [string, string] => [p.test, 'passed']), [
        'publishes a codex profile',
        'passed',
      ]),
      file(runnerKill.file, [runnerKill.test, 'passed'], ['starts a session', 'passed']),
      file('workers/lib/tokens.test.ts', ['signs a token', 'passed']),
    ]);
    expect(tally).toEqual({ attacks: 9, blocked: 9, leaked: 0, missing: [] });
    expect(adversarialLine(tally)).toBe('adversarial: 9 attacks, 9 blocked, 0 leaked');
  });

  it('an attack that failed or was skipped is counted as leaked: a skipped attack proves nothing', () => {
    const tally = tallyAttacks(root, [
      file(
        'local-dev/e2e/adversarial/authority.attack.test.ts',
        ['host header', 'failed'],
        ['sni', 'skipped'],
        ['connect', 'passed'],
      ),
    ]);
    expect(adversarialLine(tally)).toBe('adversarial: 3 attacks, 1 blocked, 2 leaked');
  });

  it('a listed proof missing from a file that ran is reported (renamed or deleted), one in a file that did not run is not', () => {
    const tally = tallyAttacks(root, [file(CREDENTIALLESS, ['publishes a codex profile', 'passed'])]);
    expect(tally.missing).toEqual(credentialless.map((p) => `${p.file}: ${p.test}`));
    expect(tally.attacks).toBe(0);
  });

  it('a file merely named like an attack file elsewhere in its path does not count', () => {
    const tally = tallyAttacks(root, [file('docs/attack.test.ts.md/notes.test.ts', ['x', 'passed'])]);
    expect(tally.attacks).toBe(0);
  });
});
