import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { configuredSources, mirrorFor } from './apt-sources.ts';

// The Debian root filesystem under the base image: `debootstrap --variant=
// minbase` from the mirror apt already uses, tarred and cached on disk (it
// changes only with the package list), then `docker import`ed as its own
// image so the layers above rebuild without it.

export interface Recipe {
  readonly suite: string;
  readonly variant: string;
  readonly packages: readonly string[];
  readonly node: { readonly package: string; readonly version: string };
  readonly npm: { readonly version: string };
}

export type Progress = (line: string) => void;

const DEBOOTSTRAP_PHASE =
  /^I: (Resolving dependencies|Installing core|Unpacking required|Configuring required|Unpacking the base|Configuring the base|Base system installed)/;

export function rootfsHash(recipe: Recipe): string {
  const input = JSON.stringify({
    suite: recipe.suite,
    variant: recipe.variant,
    packages: [...recipe.packages].sort(),
  });
  return createHash('sha256').update(input).digest('hex').slice(0, 16);
}

export function run(command: string, args: readonly string[], progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) progress(line.trim());
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (error) => reject(new Error(`${command}: ${error.message}`)));
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} exited ${code}:\n${tail.trim().split('\n').slice(-10).join('\n')}`)),
    );
  });
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Debootstrap into a tarball under `cacheDir` unless it is there already. */
async function rootfsTarball(recipe: Recipe, cacheDir: string, progress: Progress): Promise<string> {
  const tarball = join(cacheDir, `rootfs-${recipe.suite}-${rootfsHash(recipe)}.tar`);
  if (existsSync(tarball)) {
    progress(`using the cached root filesystem ${tarball}`);
    return tarball;
  }
  if (process.getuid?.() !== 0)
    throw new Error('building the sandbox root filesystem needs root (debootstrap)');
  const mirror = process.env.AIRLOCK_IMAGE_MIRROR ?? mirrorFor(recipe.suite, configuredSources());
  const work = mkdtempSync(join(cacheDir, 'debootstrap-'));
  const root = join(work, 'rootfs');
  try {
    progress(`debootstrap --variant=${recipe.variant} ${recipe.suite} from ${mirror} (about a minute)`);
    await run(
      'debootstrap',
      [
        `--variant=${recipe.variant}`,
        `--include=${recipe.packages.join(',')}`,
        '--components=main',
        recipe.suite,
        root,
        mirror,
      ],
      // Its phases, warnings and errors; the per-package lines are noise here.
      (line) => {
        if (/^[WE]: /.test(line) || DEBOOTSTRAP_PHASE.test(line)) progress(line);
      },
    );
    for (const junk of ['var/lib/apt/lists', 'var/cache/apt/archives', 'var/log']) {
      rmSync(join(root, junk), { recursive: true, force: true });
    }
    progress('packing the root filesystem');
    const partial = `${tarball}.partial`;
    await run('tar', ['--numeric-owner', '-C', root, '-cf', partial, '.'], progress);
    renameSync(partial, tarball);
    return tarball;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The imported rootfs image tag, made if missing. */
export async function ensureRootfsImage(
  docker: Docker,
  recipe: Recipe,
  cacheDir: string,
  progress: Progress,
): Promise<{ tag: string; built: boolean }> {
  const hash = rootfsHash(recipe);
  const repo = 'airlock/rootfs';
  const tag = `${repo}:${recipe.suite}-${hash}`;
  if (await imageExists(docker, tag)) return { tag, built: false };
  const tarball = await rootfsTarball(recipe, cacheDir, progress);
  progress(`docker import → ${tag}`);
  const stream = await docker.importImage(createReadStream(tarball), {
    repo,
    tag: `${recipe.suite}-${hash}`,
    changes: [`LABEL airlock.rootfs.hash=${hash}`],
  });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  if (!(await imageExists(docker, tag))) throw new Error(`docker import did not produce ${tag}`);
  return { tag, built: true };
}
