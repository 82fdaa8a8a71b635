import { execFileSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

// The host half of the secret scanner: turns secret values into needles that
// do not contain them (SHA-256 + length, and a 32-bit rolling hash of the first
// WINDOW bytes as a prefilter) and runs secret-scan.sandbox.cjs as root inside
// a sandbox's container. Each secret is searched for as is and as base64 at
// each of the three byte alignments (Basic auth headers, git extraheaders and
// JSON blobs carry secrets base64-encoded); a PEM key also by its body lines.

export const WINDOW = 16;

export interface Secret {
  readonly name: string;
  readonly value: string;
  /**
   * A secret the profile deliberately puts inside the sandbox (a `secret_in_sandbox` variable,
   * ADR 0152): searched for like any other, its hits reported apart in `allowedHits` — the
   * scan proves it arrived where it was meant to, and nothing else did.
   */
  readonly allowed?: true;
}

export interface Needle {
  readonly name: string;
  readonly variant: string;
  readonly length: number;
  readonly sha256: string;
  readonly head: number;
}

export interface ScanHit {
  readonly name: string;
  readonly variant: string;
  readonly where: string;
  readonly offset: number;
}

export interface ScanReport {
  /** Secrets found that must not be there. */
  readonly hits: readonly ScanHit[];
  /** Hits of secrets the profile chose to put in the sandbox (Secret.allowed). */
  readonly allowedHits: readonly ScanHit[];
  readonly files: number;
  readonly bytes: number;
  /** Pids seen, and those whose environ / cmdline were read (by root or by their own user). */
  readonly processes: readonly string[];
  readonly environs: readonly string[];
  readonly cmdlines: readonly string[];
  readonly unreadable: readonly string[];
  readonly historyFiles: readonly string[];
  readonly gitConfigs: readonly string[];
  readonly repositories: readonly string[];
  readonly needles: number;
}

const SCRIPT = readFileSync(join(import.meta.dirname, 'secret-scan.sandbox.cjs'), 'utf8');

function rollingHead(bytes: Buffer, base: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, base) + (bytes[i] ?? 0)) >>> 0;
  return h;
}

/** The encodings of one value a leak could take: raw, and base64 at offsets 0, 1, 2 mod 3. */
export function encodings(value: Buffer): Array<{ variant: string; bytes: Buffer }> {
  const out = [{ variant: 'raw', bytes: value }];
  for (const pad of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(pad), value]).toString('base64');
    const start = Math.ceil(pad / 3) * 4;
    const end = Math.floor((pad + value.length) / 3) * 4;
    out.push({ variant: `base64+${pad}`, bytes: Buffer.from(encoded.slice(start, end)) });
  }
  return out;
}

/** The parts of a secret worth finding alone: a PEM's base64 body and each full body line. */
function parts(secret: Secret): Array<{ label: string; bytes: Buffer }> {
  const all = [{ label: '', bytes: Buffer.from(secret.value) }];
  const pem = /-----BEGIN [A-Z ]+-----\s*([\s\S]+?)\s*-----END [A-Z ]+-----/.exec(secret.value);
  if (pem?.[1] !== undefined) {
    const lines = pem[1].split(/\s+/).filter((l) => l.length >= WINDOW);
    all.push({ label: ' body', bytes: Buffer.from(lines.join('')) });
    lines.forEach((line, i) => {
      all.push({ label: ` line ${i + 1}`, bytes: Buffer.from(line) });
    });
  }
  return all;
}

export function needlesFor(secrets: readonly Secret[], base: number): Needle[] {
  const needles: Needle[] = [];
  for (const secret of secrets) {
    if (Buffer.byteLength(secret.value) < WINDOW)
      throw new Error(`secret ${secret.name} is shorter than ${WINDOW} bytes: too short to scan for`);
    for (const part of parts(secret))
      for (const { variant, bytes } of encodings(part.bytes)) {
        if (bytes.length < WINDOW) continue;
        needles.push({
          name: secret.name,
          variant: `${variant}${part.label}`,
          length: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          head: rollingHead(bytes, base),
        });
      }
  }
  return needles;
}

async function execIn(
  docker: Docker,
  containerId: string,
  user: string,
  cmd: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    User: user,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  docker.modem.demuxStream(
    stream,
    new PassThrough().on('data', (d: Buffer) => out.push(d)),
    new PassThrough().on('data', (d: Buffer) => err.push(d)),
  );
  await new Promise((resolve) => stream.on('end', resolve));
  return {
    exitCode: (await exec.inspect()).ExitCode ?? -1,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
  };
}

/** Scan a running container for the secrets; the secrets themselves never enter it. */
export async function scanContainer(
  docker: Docker,
  containerId: string,
  secrets: readonly Secret[],
): Promise<ScanReport> {
  // An odd multiplier keeps the rolling hash a bijection per byte; random per scan.
  const base = randomInt(1, 2 ** 31) * 2 + 1;
  const needles = needlesFor(secrets, base);
  const run = async (user: string, only?: 'processes') => {
    const input = JSON.stringify({ window: WINDOW, base, needles, ...(only ? { only } : {}) });
    const result = await execIn(docker, containerId, user, ['node', '-e', SCRIPT, input]);
    if (result.exitCode !== 0)
      throw new Error(
        `the scanner failed as ${user} (exit ${result.exitCode}): ${result.stderr.slice(-2000)}`,
      );
    return JSON.parse(result.stdout) as ScanReport;
  };
  const root = await run('root');
  const own = await run('sandbox', 'processes');
  // A process counts as read when any pass read it; the scanner's own processes differ.
  const environs = new Set([...root.environs, ...own.environs]);
  const cmdlines = new Set([...root.cmdlines, ...own.cmdlines]);
  const pidOf = (line: string) => /^\/proc\/(\d+)\/(environ|cmdline)/.exec(line);
  const read = (line: string) => {
    const pid = pidOf(line);
    return pid !== null && (pid[2] === 'environ' ? environs : cmdlines).has(pid[1] ?? '');
  };
  let unreadable = [...root.unreadable, ...own.unreadable].filter((line) => !read(line));
  const hits = [...root.hits, ...own.hits];
  // What nobody in the sandbox may read (non-dumpable processes), the host reads.
  const left = [...new Set(unreadable.map((line) => pidOf(line)?.[1]).filter((p) => p !== undefined))];
  if (left.length > 0) {
    const init = (await docker.getContainer(containerId).inspect()).State.Pid;
    const hostPids = hostPidsOf(init);
    const pids = left.flatMap((as) => {
      const hostPid = hostPids.get(as);
      return hostPid === undefined ? [] : [{ read: hostPid, as }];
    });
    if (pids.length > 0) {
      const input = JSON.stringify({ window: WINDOW, base, needles, pids });
      const host = JSON.parse(
        execFileSync(process.execPath, ['-e', SCRIPT, input], { encoding: 'utf8', maxBuffer: 64 << 20 }),
      ) as ScanReport;
      hits.push(...host.hits);
      for (const pid of host.environs) environs.add(pid);
      for (const pid of host.cmdlines) cmdlines.add(pid);
      unreadable = unreadable.filter((line) => !read(line));
    }
  }
  const allowed = new Set(secrets.filter((s) => s.allowed === true).map((s) => s.name));
  return {
    ...root,
    hits: hits.filter((h) => !allowed.has(h.name)),
    allowedHits: hits.filter((h) => allowed.has(h.name)),
    processes: [...new Set([...root.processes, ...own.processes])],
    environs: [...environs],
    cmdlines: [...cmdlines],
    unreadable,
  };
}

/** The container's processes as the host numbers them, keyed by their pid inside it (empty if the engine is remote). */
function hostPidsOf(initHostPid: number): Map<string, string> {
  const byInner = new Map<string, string>();
  let namespace: string;
  try {
    namespace = readlinkSync(`/proc/${initHostPid}/ns/pid`);
  } catch {
    return byInner;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== namespace) continue;
      const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      const inner = nspid?.trim().split(/\s+/).at(-1);
      if (inner !== undefined) byInner.set(inner, entry);
    } catch {
      // gone, or not ours to look at
    }
  }
  return byInner;
}
