import { relative } from 'node:path';

// The standing adversarial suite is one logical suite spread over the projects that can run
// each attack for real (workerd for the control plane, a real sandbox for the gateway): every
// test in a `*.attack.test.ts` file, plus the proofs that predate the naming and share their
// file's world (a running session) with non-attack tests. `./dev test` prints one line for it:
// "adversarial: N attacks, N blocked, N leaked". An attack that did not pass is counted as
// leaked, whether it failed or was skipped: a skipped attack proves nothing.

/** Proofs that live in a bigger e2e file; each must be found by its exact name, or the line says so. */
export const ALSO_PROVEN: readonly { readonly file: string; readonly test: string }[] = [
  // Once per agent runtime (ADR 0153): the scan's title repeats under each runtime's describe,
  // the bypass attempts' carries the runtime's name.
  ...(['codex', 'claude-code', 'opencode'] as const).map((runtime) => ({
    file: 'local-dev/e2e/credentialless.test.ts',
    test: `${runtime}: refuses every way around the gateway from inside a running session, and audits the denials`,
  })),
  {
    file: 'local-dev/e2e/credentialless.test.ts',
    test: 'finds none of the secrets anywhere in the sandbox while the agent ran, and the one the team put there where it belongs',
  },
  {
    file: 'local-dev/e2e/session-lifecycle.test.ts',
    test: 'fails a session whose runner dies mid-create; the restarted runner reconciles; the quota comes back',
  },
];

/** The secret scanner's own tests: the proof above is only as good as the scanner. */
const ATTACK_FILE = /(\.attack\.test\.ts|\/secret-scanner\.test\.ts)$/;

export interface VitestAssertion {
  readonly title: string;
  readonly status: string;
}

export interface VitestFileResult {
  readonly name: string;
  readonly assertionResults: readonly VitestAssertion[];
}

export interface AdversarialTally {
  readonly attacks: number;
  readonly blocked: number;
  readonly leaked: number;
  /** ALSO_PROVEN entries that did not appear in the run at all (renamed or deleted). */
  readonly missing: readonly string[];
}

export function tallyAttacks(root: string, files: readonly VitestFileResult[]): AdversarialTally {
  let attacks = 0;
  let blocked = 0;
  const found = new Set<string>();
  for (const file of files) {
    const path = relative(root, file.name).split('\\').join('/');
    const whole = ATTACK_FILE.test(`/${path}`);
    for (const test of file.assertionResults) {
      const key = `${path}\u0000${test.title}`;
      const listed = ALSO_PROVEN.some((p) => `${p.file}\u0000${p.test}` === key);
      if (!whole && !listed) continue;
      if (listed) found.add(key);
      attacks += 1;
      if (test.status === 'passed') blocked += 1;
    }
  }
  const ran = files.map((f) => relative(root, f.name).split('\\').join('/'));
  // A filtered run (`./dev test vitest <file>`) does not load every file: only a file that ran
  // without its listed proof means the proof was lost.
  const missing = ALSO_PROVEN.filter(
    (p) => ran.includes(p.file) && !found.has(`${p.file}\u0000${p.test}`),
  ).map((p) => `${p.file}: ${p.test}`);
  return { attacks, blocked, leaked: attacks - blocked, missing };
}

export function adversarialLine(tally: AdversarialTally): string {
  return `adversarial: ${tally.attacks} attacks, ${tally.blocked} blocked, ${tally.leaked} leaked`;
}
