import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

// `./dev bench`: every benchmark, each measured against a baseline taken in
// the same run on the same machine, printed as a ratio. Goals are reported,
// never asserted: a benchmark informs, a test decides.
//
// A benchmark is either an executable `<part>/bench.sh` or a module
// `<part>/bench/*.bench.ts` exporting `run(): Promise<BenchResult[]>`; both
// produce results of this shape (bench.sh: one JSON object per line).

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The same measurement of the baseline, when there is one. */
  readonly baseline?: number;
  readonly baselineName?: string;
  /** Target for `value` (lower is better unless `higherIsBetter`). */
  readonly goal?: number;
  readonly higherIsBetter?: boolean;
}

function scriptResults(script: string): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited ${code}`));
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim().startsWith('{'))
          .map((l) => JSON.parse(l) as BenchResult),
      );
    });
  });
}

function discover(): Array<{ name: string; run: () => Promise<BenchResult[]> }> {
  const found: Array<{ name: string; run: () => Promise<BenchResult[]> }> = [];
  for (const part of readdirSync(ROOT).sort()) {
    const script = join(ROOT, part, 'bench.sh');
    if (existsSync(script)) found.push({ name: `${part}/bench.sh`, run: () => scriptResults(script) });
    const dir = join(ROOT, part, 'bench');
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()) {
      found.push({
        name: `${part}/bench/${file}`,
        run: async () => ((await import(join(dir, file))) as { run: () => Promise<BenchResult[]> }).run(),
      });
    }
  }
  return found;
}

function format(r: BenchResult): string {
  const ratio = r.baseline
    ? ` (${(r.value / r.baseline).toFixed(2)}× ${r.baselineName ?? 'baseline'} = ${r.baseline} ${r.unit})`
    : '';
  const met =
    r.goal === undefined
      ? ''
      : (r.higherIsBetter ? r.value >= r.goal : r.value <= r.goal)
        ? '  goal met'
        : '  GOAL MISSED';
  const goal = r.goal === undefined ? '' : ` goal ${r.higherIsBetter ? '≥' : '≤'} ${r.goal}`;
  return `${r.name}: ${r.value} ${r.unit}${ratio}${goal}${met}`;
}

export async function runBenchmarks(filters: readonly string[]): Promise<void> {
  const benches = discover().filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)));
  if (benches.length === 0) {
    process.stdout.write('no benchmarks found\n');
    return;
  }
  let failures = 0;
  for (const bench of benches) {
    process.stdout.write(`\n━━ ${bench.name} ━━\n`);
    try {
      for (const result of await bench.run()) process.stdout.write(`${format(result)}\n`);
    } catch (error) {
      failures++;
      process.stdout.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  process.exitCode = failures === 0 ? 0 : 1;
}
