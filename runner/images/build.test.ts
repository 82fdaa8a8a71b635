import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../local-dev/paths.ts';
import { baseImageHash, DEFAULT_BASE_TAG, ensureBaseImage, HASH_LABEL } from './build.ts';

// The base image on the real Docker engine: built from Debian packages by
// debootstrap (rootfs cached under .airlock/images or AIRLOCK_IMAGE_CACHE_DIR),
// with what agents and sandboxd need; rebuilt only when its content hash changes.

const docker = new Docker();
const testLabel = `t${Date.now().toString(36)}`;
const dirs: string[] = [];

afterAll(async () => {
  for (const image of await docker.listImages({ filters: { label: [`airlock.test=${testLabel}`] } }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function run(image: string, script: string, user = 'root'): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', script],
    User: user,
    HostConfig: { NetworkMode: 'none' },
    Labels: { 'airlock.test': testLabel },
  });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    let out = '';
    const sink = { write: (d: Buffer) => (out += d.toString()) } as unknown as NodeJS.WritableStream;
    docker.modem.demuxStream(stream, sink, sink);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    expect(StatusCode, out).toBe(0);
    return out;
  } finally {
    await container.remove({ force: true });
  }
}

describe('the sandbox base image', () => {
  it('is built from Debian packages with the sandbox user, Node 24, npm, git, curl and sandboxd', async () => {
    const image = await ensureBaseImage({ progress: (line) => process.stdout.write(`image   │ ${line}\n`) });
    expect(image.tag).toBe(DEFAULT_BASE_TAG);
    const info = await docker.getImage(image.tag).inspect();
    expect(info.Config.Labels?.[HASH_LABEL]).toBe(image.hash);
    expect(info.Config.Entrypoint).toEqual(['/usr/bin/tini', '--', '/usr/local/bin/airlock-entrypoint']);
    expect(info.Config.WorkingDir).toBe('/workspace');
    const out = await run(
      image.tag,
      'grep ^ID= /etc/os-release; grep VERSION_CODENAME /etc/os-release; node --version; npm --version; git --version; curl --version | head -1; sandboxd --version; id sandbox; getent passwd sandbox | cut -d: -f6; stat -c %U /workspace; test -x /usr/sbin/update-ca-certificates && echo ca-tools',
    );
    expect(out).toMatch(
      /ID=debian\nVERSION_CODENAME=bookworm\nv24\.\d+\.\d+\n11\.\d+\.\d+\ngit version 2\.\d+/,
    );
    expect(out).toMatch(/curl \d+\.\d+/);
    expect(out).toMatch(/sandboxd \d+\.\d+\.\d+/);
    expect(out).toContain('uid=1000(sandbox) gid=1000(sandbox)');
    expect(out).toContain('/home/sandbox\nsandbox\nca-tools');
    // The agent's user can use the tools without root.
    expect(
      await run(
        image.tag,
        'whoami; node -e "console.log(1+1)"; git init -q /tmp/r && echo git-ok',
        'sandbox',
      ),
    ).toBe('sandbox\n2\ngit-ok\n');
  });

  it('is not rebuilt while its content hash is unchanged', async () => {
    const before = await ensureBaseImage();
    const again = await ensureBaseImage();
    expect(again).toMatchObject({ built: false, hash: before.hash, imageId: before.imageId });
    expect((await docker.getImage(DEFAULT_BASE_TAG).inspect()).Config.Labels?.[HASH_LABEL]).toBe(before.hash);
  });

  it('is rebuilt when an input changes, reusing the cached root filesystem', async () => {
    // Another sandboxd build (here: the same binary plus an airlock-sign) is another image.
    const binDir = mkdtempSync(join(tmpdir(), 'airlock-image-bin-'));
    dirs.push(binDir);
    copyFileSync(join(ROOT, 'target/release/sandboxd'), join(binDir, 'sandboxd'));
    writeFileSync(join(binDir, 'airlock-sign'), '#!/bin/sh\necho signed\n');
    chmodSync(join(binDir, 'airlock-sign'), 0o755);
    const options = {
      tag: `airlock-test/sandbox-base:${testLabel}`,
      binDir,
      labels: { 'airlock.test': testLabel },
    };
    expect(await baseImageHash(options)).not.toBe(await baseImageHash());
    const variant = await ensureBaseImage(options);
    expect(variant).toMatchObject({ built: true, rootfsBuilt: false });
    expect(await run(variant.tag, 'airlock-sign')).toBe('signed\n');
    expect(await ensureBaseImage(options)).toMatchObject({ built: false, imageId: variant.imageId });
  });
});
