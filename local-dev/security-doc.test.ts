import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALSO_PROVEN } from './adversarial-summary.ts';
import { ROOT } from './paths.ts';

// docs/security.md is the table of every attack class and the test that covers it: an attack
// test nobody listed there is an attack class the threat model does not know about.
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const attackFiles = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: ROOT,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f.endsWith('.attack.test.ts') && !f.includes('node_modules/'));

describe('docs/security.md', () => {
  it('lists every attack test file of the repository', () => {
    expect(attackFiles.length).toBeGreaterThan(0);
    expect(attackFiles.filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });

  it('lists the proofs that predate the naming', () => {
    expect(ALSO_PROVEN.map((p) => p.file).filter((f) => !doc.includes(`\`${f}\``))).toEqual([]);
  });
});
