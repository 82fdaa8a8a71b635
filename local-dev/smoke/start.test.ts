import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../paths.ts';
import { freePort, isListening } from '../services/ports.ts';

// `./dev start` as a newcomer runs it: up, green, Ctrl-C, and nothing it
// started is left running. Every process it starts inherits a unique tag in
// its environment, so survivors can be found even after they are re-parented.

function processesTagged(tag: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(`AIRLOCK_DEV_SMOKE_TAG=${tag}`))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('./dev start', () => {
  it('serves a green /healthz and stops cleanly on Ctrl-C', { timeout: 240_000 }, async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'airlock-start-'));
    const port = await freePort();
    const tag = randomUUID();
    const { AIRLOCK_TEST_STACK: _shared, AIRLOCK_DATABASE_URL: _db, ...env } = process.env;
    const child = spawn('bash', [join(ROOT, 'dev'), 'start'], {
      cwd: ROOT,
      env: {
        ...env,
        AIRLOCK_STATE_DIR: stateDir,
        AIRLOCK_PORT: String(port),
        AIRLOCK_DEV_SMOKE_TAG: tag,
        DEV_QUIET: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 180_000;
      while (!output.includes('Airlock is running')) {
        if (child.exitCode !== null) throw new Error(`./dev start exited early:\n${output}`);
        if (Date.now() > deadline) throw new Error(`./dev start did not come up in 180 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(output).toContain(`http://127.0.0.1:${port}`);
      expect(output).toMatch(/Log in as admin@airlock\.local/);

      // It keeps running after printing the banner (and keeps its services up).
      await new Promise((r) => setTimeout(r, 2000));
      expect(child.exitCode).toBeNull();
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect({ status: response.status, body: await response.json() }).toMatchObject({
        status: 200,
        body: { status: 'ok', checks: { postgres: { ok: true }, redis: { ok: true } } },
      });
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(await page.text()).toContain('<div id="root">');
      expect(processesTagged(tag).length).toBeGreaterThan(3); // node, wrangler, workerd, postgres, redis…

      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
      expect(code).toBe(0);
      expect(output).toContain('airlock │ stopped');
      await new Promise((r) => setTimeout(r, 500));
      expect(processesTagged(tag)).toEqual([]);
      expect(await isListening(port)).toBe(false);
    } finally {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      for (const pid of processesTagged(tag)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
