import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../local-dev/paths.ts';
import { freePort } from '../../local-dev/services/ports.ts';

// `./dev start` as a user runs it, on a free port with throwaway state, for
// the browser to drive. Every process it starts carries a tag in its
// environment so that stopping it leaves nothing behind, even re-parented.

export interface DevStack {
  readonly url: string;
  readonly mailUrl: string;
  readonly email: string;
  /** Everything `./dev start` printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

function processesTagged(tag: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(`AIRLOCK_TEST_E2E_TAG=${tag}`))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

export async function startDev(timeoutMs = 240_000): Promise<DevStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-e2e-'));
  const port = await freePort();
  const tag = randomUUID();
  // The shared test stack of `./dev test` is not this one: it gets its own services.
  const {
    AIRLOCK_TEST_STACK: _shared,
    AIRLOCK_DATABASE_URL: _db,
    AIRLOCK_REDIS_URL: _redis,
    ...env
  } = process.env;
  const child: ChildProcess = spawn('bash', [join(ROOT, 'dev'), 'start'], {
    cwd: ROOT,
    env: {
      ...env,
      AIRLOCK_STATE_DIR: stateDir,
      AIRLOCK_PORT: String(port),
      AIRLOCK_TEST_E2E_TAG: tag,
      DEV_QUIET: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    for (const pid of processesTagged(tag)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // The local runner keeps each sandbox's disk image mounted while the sandbox lives, and
    // sandboxes outlive a stopped runner by design (ADR 0111): this throwaway stack lets go of its own.
    for (const point of mountsUnder(stateDir)) spawnSync('umount', ['-l', point]);
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!output.includes('Airlock is running')) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`./dev start exited early:\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`./dev start did not come up in ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const mailUrl = /listed at (http:\/\/127\.0\.0\.1:\d+)\/messages/.exec(output)?.[1];
  const email = /Log in as (\S+) /.exec(output)?.[1];
  if (mailUrl === undefined || email === undefined) {
    await stop();
    throw new Error(`./dev start did not print the mail sink or the login address:\n${output}`);
  }
  return { url: `http://127.0.0.1:${port}`, mailUrl, email, output: () => output, stop };
}

/** Every container and image a runner made, by its label (the docker CLI: no client library here). */
export function removeRunnerResources(runnerId: string): void {
  const filter = ['--filter', `label=airlock.runner=${runnerId}`];
  const docker = (args: string[]) =>
    execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter(Boolean);
  const containers = docker(['ps', '-aq', ...filter]);
  if (containers.length > 0) docker(['rm', '-f', ...containers]);
  const images = docker(['images', '-q', ...filter]);
  if (images.length > 0) docker(['rmi', '-f', ...new Set(images)]);
}

interface MailMessage {
  readonly to: readonly string[];
  readonly text: string;
  readonly receivedAt: string;
}

/** The newest login code mailed to `email` after `since` (ms), read from the mail sink. */
export async function loginCode(
  mailUrl: string,
  email: string,
  since: number,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = (await (await fetch(`${mailUrl}/messages`)).json()) as MailMessage[];
    const mine = messages.filter((m) => m.to.includes(email) && Date.parse(m.receivedAt) >= since).at(-1);
    const code = mine === undefined ? undefined : /\b(\d{4,10})\b/.exec(mine.text)?.[1];
    if (code !== undefined) return code;
    if (Date.now() > deadline)
      throw new Error(`no login code for ${email} reached the mail sink in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Mount points at or below `dir`, from the kernel's table (`\040` is a space). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((field) =>
      field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    )
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
