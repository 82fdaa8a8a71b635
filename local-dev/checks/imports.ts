import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../paths.ts';

// The folder tree is the architecture (STYLE.md), and this check keeps it so:
//  1. no import circles between our TypeScript files (type-only imports count:
//     a type that goes one way and a value the other is still a knot);
//  2. every import obeys the "May import:" line of the nearest README.md above
//     the importing file.
//
// A rule line lists backticked entries:
//   `@airlock/schema` or `@airlock/schema/api` — a workspace package (or a part of one);
//   `workers/lib/`  — a folder of the repo (ends with a slash);
//   `zod`, `node:`  — third-party packages / Node built-ins; if any are listed, only those.
// "everything in the repo" allows every folder. A file may always import inside the folder
// whose README governs it. "Tests may also import:" adds entries for test files.

export interface Rule {
  readonly folder: string;
  readonly readme: string;
  readonly internal: readonly string[];
  readonly external: readonly string[] | null;
  readonly everything: boolean;
  readonly testInternal: readonly string[];
  readonly testExternal: readonly string[];
}

export interface Finding {
  readonly kind: 'circle' | 'rule';
  readonly message: string;
}

const SOURCE = /\.(ts|tsx|mts)$/;

function trackedSources(root: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((f) => SOURCE.test(f) && !f.endsWith('.d.ts') && !f.includes('node_modules/'))
    .filter((f) => existsSync(join(root, f)));
}

function entries(line: string): string[] {
  return [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

export function parseRule(folder: string, readme: string, text: string): Rule | null {
  const may = /^May import:(.*)$/m.exec(text);
  if (may === null) return null;
  // The rule is the first sentence; what follows is prose.
  const line = (may[1] as string).split(/\.(\s|$)/)[0] as string;
  const listed = entries(line);
  const internal = listed.filter((e) => e.startsWith('@airlock/') || e.endsWith('/'));
  const external = listed.filter((e) => !internal.includes(e));
  const tests = /^Tests may also import:(.*)$/m.exec(text);
  const testEntries = tests === null ? [] : entries(tests[1] as string);
  return {
    folder,
    readme,
    internal,
    external: external.length === 0 ? null : external,
    everything: /everything in the repo/i.test(line),
    testInternal: testEntries.filter((e) => e.startsWith('@airlock/') || e.endsWith('/')),
    testExternal: testEntries.filter((e) => !(e.startsWith('@airlock/') || e.endsWith('/'))),
  };
}

interface Workspace {
  readonly dir: string;
  readonly name: string;
  readonly exports: Readonly<Record<string, string>>;
}

function workspaces(root: string): Workspace[] {
  const list: Workspace[] = [];
  for (const dir of [
    'config',
    'schema',
    'workers',
    'durable-objects',
    'dashboard',
    'runner',
    'local-dev',
    'cli',
  ]) {
    const file = join(root, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; exports?: Record<string, string> };
    list.push({ dir, name: pkg.name, exports: pkg.exports ?? {} });
  }
  return list;
}

function resolveFile(root: string, base: string): string | null {
  const candidates = [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx')];
  for (const c of candidates)
    if (existsSync(join(root, c)) && statSync(join(root, c)).isFile()) return posix.normalize(c);
  return null;
}

type Target =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'external'; readonly name: string };

function resolveImport(
  root: string,
  from: string,
  spec: string,
  spaces: readonly Workspace[],
): Target | null {
  if (spec.startsWith('.')) {
    const path = resolveFile(root, posix.join(posix.dirname(from), spec));
    return path === null ? null : { kind: 'file', path };
  }
  const space = spaces.find((s) => spec === s.name || spec.startsWith(`${s.name}/`));
  if (space !== undefined) {
    const sub = spec === space.name ? '.' : `./${spec.slice(space.name.length + 1)}`;
    const mapped = Object.hasOwn(space.exports, sub) ? space.exports[sub] : sub;
    const path = mapped === undefined ? null : resolveFile(root, posix.join(space.dir, mapped));
    return path === null ? null : { kind: 'file', path };
  }
  if (spec.startsWith('node:')) return { kind: 'external', name: 'node:' };
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  return { kind: 'external', name };
}

/** Test code: test and bench files, test helpers, e2e and bench folders, and the test runners' configs. */
const isTest = (file: string) =>
  /\.(test|bench)\.tsx?$/.test(file) ||
  /(^|\/)(test-support|testing|e2e|bench)\//.test(file) ||
  /(^|\/)(vitest\.config|global-setup)\.ts$/.test(file);

function allowedInternal(entry: string, target: string, spaces: readonly Workspace[]): boolean {
  if (entry.endsWith('/')) return target.startsWith(entry);
  const space = spaces.find((s) => entry === s.name || entry.startsWith(`${s.name}/`));
  if (space === undefined) return false;
  const sub = entry === space.name ? '' : entry.slice(space.name.length + 1);
  const folder = sub === '' ? `${space.dir}/` : `${space.dir}/${sub}`;
  return target === `${folder}.ts` || target.startsWith(folder.endsWith('/') ? folder : `${folder}/`);
}

/** Tarjan's strongly connected components: each component of more than one file is a circle. */
function circles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) visit(v);
  return found;
}

export function checkImports(root: string = ROOT): Finding[] {
  const spaces = workspaces(root);
  const files = trackedSources(root);
  const rules = new Map<string, Rule | null>();
  const ruleFor = (file: string): Rule | null => {
    for (let dir = posix.dirname(file); ; dir = posix.dirname(dir)) {
      if (!rules.has(dir)) {
        const readme = join(root, dir, 'README.md');
        rules.set(
          dir,
          existsSync(readme) ? parseRule(dir, relative(root, readme), readFileSync(readme, 'utf8')) : null,
        );
      }
      const rule = rules.get(dir);
      if (rule) return rule;
      if (dir === '.' || dir === '') return null;
    }
  };
  const graph = new Map<string, Set<string>>();
  const findings: Finding[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    const edges = new Set<string>();
    graph.set(file, edges);
    const rule = ruleFor(file);
    for (const ref of info.importedFiles) {
      const target = resolveImport(root, file, ref.fileName, spaces);
      if (target === null) continue;
      if (target.kind === 'file') edges.add(target.path);
      if (rule === null) continue;
      if (target.kind === 'external') {
        const external =
          rule.external === null ? null : [...rule.external, ...(isTest(file) ? rule.testExternal : [])];
        if (external !== null && !external.includes(target.name))
          findings.push({
            kind: 'rule',
            message: `${file}: imports '${ref.fileName}', but ${rule.readme} allows only ${external.join(', ')}`,
          });
        continue;
      }
      const own = rule.folder === '.' || target.path.startsWith(`${rule.folder}/`);
      const listed = [...rule.internal, ...(isTest(file) ? rule.testInternal : [])];
      if (own || rule.everything || listed.some((e) => allowedInternal(e, target.path, spaces))) continue;
      findings.push({
        kind: 'rule',
        message: `${file}: imports ${target.path}, which ${rule.readme} does not allow (May import: ${listed.join(', ') || 'nothing of ours'})`,
      });
    }
  }
  for (const component of circles(graph))
    findings.push({ kind: 'circle', message: `import circle: ${component.join(' ↔ ')}` });
  return findings;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const findings = checkImports();
  for (const f of findings) process.stdout.write(`${f.message}\n`);
  const circlesFound = findings.filter((f) => f.kind === 'circle').length;
  process.stdout.write(
    `${circlesFound} import circle(s), ${findings.length - circlesFound} "may import" rule(s) broken\n`,
  );
  process.exitCode = findings.length === 0 ? 0 : 1;
}
