// The secret scanner's in-sandbox half: plain Node (no imports beyond node:),
// run as root inside a sandbox with `node -e <this file> <needles JSON>`.
// It never sees a secret: each needle is the SHA-256 and length of one secret
// encoding, plus a 32-bit rolling hash of its first WINDOW bytes. One pass over
// every byte it reads matches window hashes; a hit is confirmed with SHA-256
// over the needle's full length. It reads every process's environ and cmdline,
// every regular file under / except /proc and /sys, and each repository's and
// the sandbox user's git config as git resolves it; prints one JSON report.
//
// Input: { window, base, needles: [{ name, variant, length, sha256, head }], only? }
// `only: "processes"` reads /proc alone: without CAP_SYS_PTRACE (sandboxes have
// none) a process's environ is readable only by its own user, so the host runs
// the scanner once as root and once as the sandbox user and merges.
// `pids: [{ read, as }]` reads those processes alone, from the host's /proc: a
// process that made itself non-dumpable (Codex does) has an environ no one in
// the sandbox may read, root included; the host reads it as `read`, reports `as`.
// where head = rolling hash (mod 2^32) of the needle's first `window` bytes:
// h = h * base + byte, over bytes 0..window-1.

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const input = JSON.parse(process.argv[1] ?? '{}');
const W = input.window;
const B = input.base >>> 0;
const needles = input.needles;
const byHead = new Map();
for (const n of needles) {
  const list = byHead.get(n.head >>> 0) ?? [];
  list.push(n);
  byHead.set(n.head >>> 0, list);
}
const maxLength = Math.max(W, ...needles.map((n) => n.length));
let outFactor = 1; // base^(W-1) mod 2^32: the weight of the byte leaving the window
for (let i = 1; i < W; i++) outFactor = Math.imul(outFactor, B) >>> 0;

const hits = [];
const seen = new Set();
let bytesScanned = 0;

/** Scan a buffer; `offset` is where it starts in the source (for reporting). */
function scanBuffer(buf, where, offset) {
  bytesScanned += buf.length;
  if (buf.length < W) return;
  let h = 0;
  for (let i = 0; i < W; i++) h = (Math.imul(h, B) + buf[i]) >>> 0;
  for (let i = 0; ; i++) {
    const candidates = byHead.get(h);
    if (candidates !== undefined) {
      for (const n of candidates) {
        if (i + n.length > buf.length) continue;
        const digest = createHash('sha256')
          .update(buf.subarray(i, i + n.length))
          .digest('hex');
        const key = `${n.name}\u0000${n.variant}\u0000${where}`;
        if (digest === n.sha256 && !seen.has(key)) {
          seen.add(key);
          hits.push({ name: n.name, variant: n.variant, where, offset: offset + i });
        }
      }
    }
    if (i + W >= buf.length) break;
    h = (Math.imul((h - Math.imul(buf[i], outFactor)) >>> 0, B) + buf[i + W]) >>> 0;
  }
}

const CHUNK = 8 * 1024 * 1024;

/** A file in chunks that overlap by maxLength-1 bytes, so no needle straddles unseen. */
function scanFile(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK + maxLength);
    let carried = 0;
    let position = 0;
    for (;;) {
      const read = fs.readSync(fd, buf, carried, CHUNK, null);
      if (read === 0) break;
      const total = carried + read;
      scanBuffer(buf.subarray(0, total), file, position - carried);
      bytesScanned -= carried; // counted once
      const keep = Math.min(maxLength - 1, total);
      buf.copy(buf, 0, total - keep, total);
      position += read;
      carried = keep;
    }
  } finally {
    fs.closeSync(fd);
  }
}

const report = {
  hits,
  files: 0,
  bytes: 0,
  processes: [],
  environs: [],
  cmdlines: [],
  unreadable: [],
  historyFiles: [],
  gitConfigs: [],
  repositories: [],
  needles: needles.length,
};

// 1. Processes: environ and cmdline of every process (as root: all of them), or of
// `pids` alone, each read under one pid and reported under another (the host's pass).
const procs =
  input.pids ??
  fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => ({ read: entry, as: entry }));
for (const { read, as } of procs) {
  report.processes.push(as);
  for (const part of ['environ', 'cmdline']) {
    const where = `/proc/${as}/${part}`;
    try {
      scanBuffer(fs.readFileSync(`/proc/${read}/${part}`), where, 0);
      (part === 'environ' ? report.environs : report.cmdlines).push(as);
    } catch (error) {
      if (error.code !== 'ENOENT' && error.code !== 'ESRCH')
        report.unreadable.push(`${where}: ${error.code}`);
    }
  }
}

const onlyProcesses = input.only === 'processes' || input.pids !== undefined;

// 2. Every regular file under /, except the kernel's views.
const SKIP = new Set(['/proc', '/sys']);
const stack = onlyProcesses ? [] : ['/'];
while (stack.length > 0) {
  const dir = stack.pop();
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    report.unreadable.push(`${dir}: ${error.code}`);
    continue;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (SKIP.has(full)) continue;
    if (e.isDirectory()) stack.push(full);
    else if (e.isFile()) {
      if (/history/i.test(e.name)) report.historyFiles.push(full);
      if (e.name === 'config' && dir.endsWith('/.git')) report.repositories.push(path.dirname(dir));
      if (e.name === '.gitconfig' || full === '/etc/gitconfig') report.gitConfigs.push(full);
      try {
        scanFile(full);
        report.files++;
      } catch (error) {
        if (error.code !== 'ENOENT') report.unreadable.push(`${full}: ${error.code}`);
      }
    }
  }
}

// 3. Git config as git resolves it (system, global, repository, includes), as the
// sandbox user would see it in each repository and in its home.
const gitPlaces = onlyProcesses ? [] : [...report.repositories, '/home/sandbox'];
for (const cwd of gitPlaces) {
  try {
    const out = execFileSync('git', ['config', '--list', '--show-origin', '--includes'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: '/home/sandbox' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    scanBuffer(out, `git config (${cwd})`, 0);
  } catch {
    // not a repository (the home directory), or no config: nothing to resolve
  }
}

report.bytes = bytesScanned;
process.stdout.write(`${JSON.stringify(report)}\n`);
