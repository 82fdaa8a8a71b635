import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AdversarialTally,
  adversarialLine,
  tallyAttacks,
  type VitestFileResult,
} from './adversarial-summary.ts';
import { ensureDashboardBuilt } from './dashboard-build.ts';
import { BIN, ROOT, STATE_DIR } from './paths.ts';
import { startStack } from './stack.ts';
import type { TestStackInfo } from './test-global-setup.ts';

// `./dev test`: every suite — static checks, all vitest projects (Node,
// workerd, browser), Rust tests, the fuzz smoke — against one throwaway stack
// of real services, then one line: "N passed, N failed, N skipped".
//   ./dev test                 everything
//   ./dev test vitest [args]   only vitest (args go to vitest, e.g. --project workers)
//   ./dev test rust | checks   only those

interface SuiteResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly seconds: number;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

function exec(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  capture = false,
) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const forward = (chunk: Buffer, to: NodeJS.WriteStream) => {
      const text = chunk.toString();
      if (capture) output += text;
      to.write(text);
    };
    child.stdout.on('data', (c: Buffer) => forward(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => forward(c, process.stderr));
    child.once('error', (error) => resolve({ code: 127, output: String(error) }));
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

async function timed(
  name: string,
  run: () => Promise<Omit<SuiteResult, 'name' | 'seconds'>>,
): Promise<SuiteResult> {
  say(`\n━━ ${name} ━━`);
  const started = Date.now();
  const result = await run();
  return { name, ...result, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

/** A check passes or fails as a whole: it counts as one. */
async function check(name: string, command: string, args: readonly string[]): Promise<SuiteResult> {
  return timed(name, async () => {
    const { code } = await exec(command, args);
    return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
  });
}

function tsProjects(): string[] {
  return readdirSync(ROOT)
    .filter((dir) => existsSync(join(ROOT, dir, 'tsconfig.json')))
    .map((dir) => join(dir, 'tsconfig.json'))
    .concat('tsconfig.tools.json');
}

async function staticChecks(): Promise<SuiteResult[]> {
  const results: SuiteResult[] = [];
  for (const project of tsProjects())
    results.push(await check(`typecheck ${project}`, join(BIN, 'tsc'), ['-p', project]));
  results.push(await check('lint + format (biome)', join(BIN, 'biome'), ['check', '.']));
  results.push(
    await check('no registry or mirror host names in the tree', process.execPath, [
      join(ROOT, 'local-dev/checks/registry-hosts.ts'),
    ]),
  );
  results.push(
    await check('no import circles; every folder README\'s "May import" rule holds', process.execPath, [
      join(ROOT, 'local-dev/checks/imports.ts'),
    ]),
  );
  results.push(
    await check('worker bundles (wrangler deploy --dry-run)', join(BIN, 'wrangler'), [
      'deploy',
      '--dry-run',
      '--outdir',
      join(STATE_DIR, 'test-results/deploy-dry-run'),
    ]),
  );
  return results;
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
  success: boolean;
  testResults: VitestFileResult[];
}

async function vitest(
  extraArgs: readonly string[],
): Promise<{ suite: SuiteResult; adversarial: AdversarialTally | undefined }> {
  let adversarial: AdversarialTally | undefined;
  const suite = await timed('vitest (all TypeScript suites)', async () => {
    say('starting the test stack (Postgres, Redis, REST, mail sink)');
    const stack = await startStack({ publicUrl: 'http://127.0.0.1:8787', env: {} });
    const info: TestStackInfo = {
      vars: { ...stack.vars },
      databaseUrl: stack.databaseUrl,
      redisUrl: stack.redisUrl,
      mailUrl: stack.mailUrl,
    };
    const report = join(STATE_DIR, 'test-results/vitest.json');
    rmSync(report, { force: true });
    try {
      const { code } = await exec(
        join(BIN, 'vitest'),
        ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extraArgs],
        { ...process.env, AIRLOCK_TEST_STACK: JSON.stringify(info), WRANGLER_SEND_METRICS: 'false' },
      );
      if (!existsSync(report)) return { passed: 0, failed: 1, skipped: 0 };
      const json = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
      adversarial = tallyAttacks(ROOT, json.testResults);
      // A file that fails to load (or whose beforeAll throws) has no failed test, but its suite
      // failed: count it, whatever vitest's exit status says.
      const broken =
        json.numFailedTests === 0 && (code !== 0 || !json.success)
          ? Math.max(1, json.numFailedTestSuites)
          : 0;
      return {
        passed: json.numPassedTests,
        failed: json.numFailedTests + broken,
        skipped: json.numPendingTests + json.numTodoTests,
      };
    } finally {
      await stack.stop();
    }
  });
  return { suite, adversarial };
}

async function rust(): Promise<SuiteResult[]> {
  const results = [
    await check('cargo fmt --check', 'cargo', ['fmt', '--all', '--check']),
    await check('cargo clippy -D warnings', 'cargo', [
      'clippy',
      '--workspace',
      '--all-targets',
      '--locked',
      '--',
      '-D',
      'warnings',
    ]),
  ];
  results.push(
    await timed('cargo test', async () => {
      const { code, output } = await exec('cargo', ['test', '--workspace', '--locked'], process.env, true);
      let passed = 0;
      let failed = 0;
      let skipped = 0;
      for (const match of output.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g)) {
        passed += Number(match[1]);
        failed += Number(match[2]);
        skipped += Number(match[3]);
      }
      if (code !== 0 && failed === 0) failed = 1; // a build error or a crashed test binary
      return { passed, failed, skipped };
    }),
  );
  const fuzz = join(ROOT, 'sandboxd/fuzz/run.sh');
  if (existsSync(fuzz)) {
    const seconds = process.env.AIRLOCK_FUZZ_SECONDS ?? (process.env.CI ? '60' : '15');
    results.push(await check(`fuzz tunnel decoder (${seconds} s)`, 'bash', [fuzz, seconds]));
  }
  return results;
}

/** Counts as one: every attack that ran was blocked, and no listed proof went missing. */
function adversarialCheck(tally: AdversarialTally): SuiteResult {
  for (const lost of tally.missing) say(`adversarial proof not found in the run: ${lost}`);
  const ok = tally.leaked === 0 && tally.missing.length === 0;
  return { name: 'adversarial suite', passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds: 0 };
}

function summarize(results: readonly SuiteResult[], adversarial: AdversarialTally | undefined): boolean {
  say('\n━━ summary ━━');
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    const mark = r.failed > 0 ? 'FAIL' : 'ok  ';
    say(
      `${mark} ${r.name.padEnd(width)}  ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped  (${r.seconds}s)`,
    );
  }
  const total = (key: 'passed' | 'failed' | 'skipped') => results.reduce((n, r) => n + r[key], 0);
  if (adversarial !== undefined && adversarial.attacks > 0) say(`\n${adversarialLine(adversarial)}`);
  say(`\n${total('passed')} passed, ${total('failed')} failed, ${total('skipped')} skipped`);
  return total('failed') === 0;
}

export async function runAllTests(args: readonly string[]): Promise<void> {
  mkdirSync(join(STATE_DIR, 'test-results'), { recursive: true });
  const [only, ...rest] = args;
  await ensureDashboardBuilt(say);
  const results: SuiteResult[] = [];
  let adversarial: AdversarialTally | undefined;
  if (only === undefined || only === 'checks') results.push(...(await staticChecks()));
  if (only === undefined || only === 'vitest') {
    const run = await vitest(only === 'vitest' ? rest : []);
    results.push(run.suite);
    adversarial = run.adversarial;
    if (adversarial !== undefined && adversarial.attacks > 0) results.push(adversarialCheck(adversarial));
  }
  if (only === undefined || only === 'rust') results.push(...(await rust()));
  if (results.length === 0) throw new Error(`unknown test selection '${only}' (use vitest, rust or checks)`);
  process.exitCode = summarize(results, adversarial) ? 0 : 1;
}
