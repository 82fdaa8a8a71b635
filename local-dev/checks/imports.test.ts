import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkImports, parseRule } from './imports.ts';

// The check runs over a real git tree: a small repo written here with the shapes that matter.
let root = '';
function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'imports-check-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  execFileSync('git', ['init', '-q'], { cwd: root });
  return root;
}
afterEach(() => rmSync(root, { recursive: true, force: true }));

const messages = (r: string) => checkImports(r).map((f) => f.message);

describe('the import check', () => {
  it('finds a circle, type-only imports included, and names every file in it', () => {
    const r = tree({
      'app/a.ts': "import type { B } from './b.ts';\nexport type A = B;\n",
      'app/b.ts': "import { c } from './c.ts';\nexport type B = string;\nexport const b = c;\n",
      'app/c.ts': "import type { A } from './a.ts';\nexport const c: A | 1 = 1;\n",
      'app/leaf.ts': "import { c } from './c.ts';\nexport const leaf = c;\n",
    });
    expect(messages(r)).toEqual(['import circle: app/a.ts ↔ app/b.ts ↔ app/c.ts']);
  });

  it("enforces the nearest README's rule; tests get their extra entries, and the own folder is always allowed", () => {
    const r = tree({
      'core/README.md': '# core\n\nMay import: `zod`. Nothing of ours.\nTests may also import: `vitest`.\n',
      'core/x.ts': "import { z } from 'zod';\nimport { y } from './y.ts';\nexport const x = [z, y];\n",
      'core/y.ts': "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n",
      'core/x.test.ts': "import { it } from 'vitest';\nimport { x } from './x.ts';\nit('x', () => x);\n",
      'core/bad.ts':
        "import { it } from 'vitest';\nimport { h } from '../web/h.ts';\nexport const bad = [it, h];\n",
      'web/README.md': '# web\n\nMay import: `core/`.\nTests may also import: `tools/`.\n',
      'web/h.ts':
        "import { x } from '../core/x.ts';\nimport { t } from '../tools/t.ts';\nexport const h = [x, t];\n",
      'web/e2e/journey.ts': "import { t } from '../../tools/t.ts';\nexport const j = t;\n",
      'tools/t.ts': 'export const t = 1;\n',
    });
    expect(messages(r).sort()).toEqual([
      "core/bad.ts: imports 'vitest', but core/README.md allows only zod",
      'core/bad.ts: imports web/h.ts, which core/README.md does not allow (May import: nothing of ours)',
      "core/y.ts: imports 'node:fs', but core/README.md allows only zod",
      'web/h.ts: imports tools/t.ts, which web/README.md does not allow (May import: core/)',
    ]);
  });

  it('reads a rule from its first sentence only, with workspace packages and folders as ours', () => {
    const rule = parseRule(
      'workers',
      'workers/README.md',
      'May import: `@airlock/schema`, `workers/lib/`, `hono`. Not `dashboard/`, which is prose.\n',
    );
    expect(rule).toMatchObject({
      internal: ['@airlock/schema', 'workers/lib/'],
      external: ['hono'],
      everything: false,
    });
    expect(parseRule('x', 'x/README.md', 'No rule here.\n')).toBeNull();
    expect(parseRule('l', 'l/README.md', 'May import: everything in the repo.\n')?.everything).toBe(true);
  });
});
