import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../runner/images/build.ts';
import { encodings, type ScanReport, scanContainer } from './secret-scanner.ts';

// The scanner must be able to fail: secrets planted in each place it claims to
// search (a file, a process's environment, a command line, git config as a
// base64 Basic header, shell history, a PEM key's body, a non-dumpable
// process's environment) are all found, in a
// real container of the sandbox base image; a secret planted nowhere is not.

const docker = new Docker();
const run = randomBytes(4).toString('hex');
const secret = (label: string) => `${label}-${randomBytes(18).toString('hex')}`;
const planted = {
  file: secret('sk-file'),
  environ: secret('sk-environ'),
  hidden: secret('sk-nondumpable'),
  cmdline: secret('sk-cmdline'),
  gitHeader: secret('ghs_git'),
  history: secret('sk-history'),
  nowhere: secret('sk-nowhere'),
};
/** A secret the profile chose to put in the sandbox: found, and reported apart from the leaks. */
const chosen = secret('npm-chosen');
const pem = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
let container: Docker.Container;
let report: ScanReport;

async function execDetached(cmd: string[], env: string[] = [], user = 'sandbox'): Promise<void> {
  const exec = await container.exec({ Cmd: cmd, Env: env, User: user });
  await exec.start({ Detach: true });
}

async function execWait(cmd: string[], env: string[] = [], user = 'sandbox'): Promise<void> {
  const exec = await container.exec({
    Cmd: cmd,
    Env: env,
    User: user,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise((resolve) => stream.on('end', resolve));
  const code = (await exec.inspect()).ExitCode;
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited ${code}`);
}

beforeAll(async () => {
  const image = await ensureBaseImage({ progress: (line) => process.stdout.write(`image   │ ${line}\n`) });
  container = await docker.createContainer({
    name: `airlock-scanner-test-${run}`,
    Image: image.imageId,
    Cmd: ['sleep', 'infinity'],
    Labels: { 'airlock.test': `scanner-${run}` },
    HostConfig: { NetworkMode: 'none', AutoRemove: false },
  });
  await container.start();
  // Planted the way leaks happen; each value travels in an exec's environment, not its argv.
  await execWait(['sh', '-c', 'printf "token=%s\\n" "$V" > /home/sandbox/notes.txt'], [`V=${planted.file}`]);
  await execDetached(['sleep', '600'], [`LEAKED_KEY=${planted.environ}`]);
  await execDetached(['sleep', '601'], [`NPM_TOKEN=${chosen}`]);
  await execDetached(['sh', '-c', 'sleep 600; :', 'sh', planted.cmdline]);
  // Non-dumpable, as Codex makes itself (prctl(PR_SET_DUMPABLE, 0); prctl is syscall 157 on
  // x86-64, 167 on arm64): nobody in the sandbox may read its environ, so the host does.
  await execDetached(
    [
      'perl',
      '-MPOSIX',
      '-e',
      'syscall((POSIX::uname())[4] eq "aarch64" ? 167 : 157, 4, 0, 0, 0, 0) == 0 or die "prctl: $!"; sleep 600',
    ],
    [`HIDDEN_KEY=${planted.hidden}`],
  );
  const basic = Buffer.from(`x-access-token:${planted.gitHeader}`).toString('base64');
  await execWait(
    ['sh', '-c', 'git config --global http.extraHeader "Authorization: Basic $V"'],
    [`V=${basic}`, 'HOME=/home/sandbox'],
  );
  await execWait(
    ['sh', '-c', 'printf "ls\\nexport TOKEN=%s\\n" "$V" > /home/sandbox/.bash_history'],
    [`V=${planted.history}`],
  );
  const body = pem.split('\n').filter((l) => !l.startsWith('-----') && l !== '');
  await execWait(['sh', '-c', 'printf "%s\\n" "$V" > /tmp/key-fragment.txt'], [`V=${body[3]}`]);
  report = await scanContainer(docker, container.id, [
    ...Object.entries(planted).map(([name, value]) => ({ name, value })),
    { name: 'pem', value: pem },
    { name: 'chosen', value: chosen, allowed: true },
  ]);
}, 600_000);

afterAll(async () => {
  await container?.remove({ force: true }).catch(() => {});
});

const hitsOf = (name: string) => report.hits.filter((h) => h.name === name);

describe('the secret scanner', () => {
  it('searches processes, the whole file tree, git config and shell history', () => {
    expect(report.processes.length).toBeGreaterThanOrEqual(3);
    // Every process but the two scanner passes' own (each sees only itself) was read.
    expect(report.environs.length).toBeGreaterThanOrEqual(report.processes.length - 2);
    expect(report.cmdlines.length).toBeGreaterThanOrEqual(report.processes.length - 2);
    expect(report.files).toBeGreaterThan(1000);
    expect(report.bytes).toBeGreaterThan(50 * 1024 * 1024);
    expect(report.historyFiles).toContain('/home/sandbox/.bash_history');
    expect(report.gitConfigs).toContain('/home/sandbox/.gitconfig');
    expect(report.unreadable).toEqual([]);
  });

  it('finds a secret in a file', () => {
    expect(hitsOf('file').map((h) => h.where)).toContain('/home/sandbox/notes.txt');
  });

  it("finds a secret in a process's environment", () => {
    expect(hitsOf('environ').some((h) => /^\/proc\/\d+\/environ$/.test(h.where))).toBe(true);
  });

  it("finds a secret in a non-dumpable process's environment (read from the host)", () => {
    expect(hitsOf('hidden').some((h) => /^\/proc\/\d+\/environ$/.test(h.where))).toBe(true);
  });

  it('finds a secret on a command line', () => {
    expect(hitsOf('cmdline').some((h) => /^\/proc\/\d+\/cmdline$/.test(h.where))).toBe(true);
  });

  it('finds a token base64-encoded in a git Basic auth header, in the file and as git resolves it', () => {
    const found = hitsOf('gitHeader');
    expect(found.map((h) => h.where)).toEqual(
      expect.arrayContaining(['/home/sandbox/.gitconfig', 'git config (/home/sandbox)']),
    );
    expect(found.every((h) => h.variant.startsWith('base64'))).toBe(true);
  });

  it('finds a secret in shell history', () => {
    expect(hitsOf('history').map((h) => h.where)).toContain('/home/sandbox/.bash_history');
  });

  it("finds one line of a PEM key's body on its own", () => {
    expect(hitsOf('pem').map((h) => `${h.where} ${h.variant}`)).toContain('/tmp/key-fragment.txt raw line 4');
  });

  it('reports a secret the profile chose to put in the sandbox apart from the leaks', () => {
    expect(hitsOf('chosen')).toEqual([]);
    expect(
      report.allowedHits.some((h) => h.name === 'chosen' && /^\/proc\/\d+\/environ$/.test(h.where)),
    ).toBe(true);
  });

  it('reports nothing for a secret that is nowhere', () => {
    expect(hitsOf('nowhere')).toEqual([]);
  });
});

describe('base64 encodings of a secret', () => {
  it('are found inside the base64 of any text that contains the secret, at any offset', () => {
    const value = Buffer.from('sk-0123456789abcdef0123');
    const variants = encodings(value).filter((e) => e.variant !== 'raw');
    for (const prefix of ['', 'a', 'ab', 'abc', 'x-access-token:']) {
      const encoded = Buffer.from(`${prefix}${value}tail`).toString('base64');
      expect(variants.some((v) => encoded.includes(v.bytes.toString()))).toBe(true);
    }
  });
});
