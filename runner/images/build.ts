import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { withLock } from './lock.ts';
import { ensureRootfsImage, type Progress, type Recipe, rootfsHash, run } from './rootfs.ts';

// `node runner/images/build.ts`: the sandbox base image, built locally (there
// is no registry): the debootstrapped Debian rootfs (its own cached image),
// then Node 24 + npm from the npm registry, the sandbox user, and sandboxd +
// airlock-sign from target/release. The image carries a hash of everything
// that went into it; when nothing changed, building again is a no-op.

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
export const DEFAULT_BASE_TAG = 'airlock/sandbox-base:latest';
export const HASH_LABEL = 'airlock.image.hash';
const BINARIES = ['sandboxd', 'airlock-sign'] as const;

export interface BaseImageOptions {
  readonly tag?: string;
  /** Where sandboxd (required) and airlock-sign (if built) are. */
  readonly binDir?: string;
  /** Cached downloads and the rootfs tarball. */
  readonly cacheDir?: string;
  /** Extra image labels (tests mark their images with these). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly progress?: Progress;
  readonly docker?: Docker;
}

export interface BaseImage {
  readonly tag: string;
  readonly hash: string;
  readonly imageId: string;
  /** False when an image with this hash was already there. */
  readonly built: boolean;
  readonly rootfsBuilt: boolean;
}

export function defaultCacheDir(): string {
  return (
    process.env.AIRLOCK_IMAGE_CACHE_DIR ??
    join(process.env.AIRLOCK_STATE_DIR ?? join(ROOT, '.airlock'), 'images')
  );
}

export function loadRecipe(): Recipe {
  return JSON.parse(readFileSync(join(HERE, 'recipe.json'), 'utf8')) as Recipe;
}

function hashFile(hash: ReturnType<typeof createHash>, path: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise())
      .on('error', reject);
  });
}

/** The content hash of the image the recipe and binaries would produce. */
export async function baseImageHash(options: BaseImageOptions = {}): Promise<string> {
  const binDir = options.binDir ?? join(ROOT, 'target/release');
  const hash = createHash('sha256');
  for (const file of ['recipe.json', 'Dockerfile', 'entrypoint.sh'])
    hash.update(readFileSync(join(HERE, file)));
  hash.update(rootfsHash(loadRecipe()));
  hash.update(JSON.stringify(Object.entries(options.labels ?? {}).sort()));
  for (const name of BINARIES) {
    const path = join(binDir, name);
    if (!existsSync(path)) {
      if (name === 'sandboxd') throw new Error(`${path} is missing; build it first (cargo build --release)`);
      continue;
    }
    hash.update(name);
    await hashFile(hash, path);
  }
  return hash.digest('hex').slice(0, 16);
}

async function labelOf(
  docker: Docker,
  tag: string,
): Promise<{ hash: string | undefined; id: string } | null> {
  try {
    const info = await docker.getImage(tag).inspect();
    return { hash: info.Config.Labels?.[HASH_LABEL], id: info.Id };
  } catch {
    return null;
  }
}

/** An npm package tarball, downloaded once into the cache. */
async function npmTarball(
  cacheDir: string,
  name: string,
  version: string,
  progress: Progress,
): Promise<string> {
  const dir = join(cacheDir, 'npm');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  if (existsSync(file)) return file;
  progress(`fetching ${name}@${version} from the npm registry`);
  const work = mkdtempSync(join(dir, 'pack-'));
  try {
    await run('npm', ['pack', `${name}@${version}`, '--pack-destination', work, '--silent'], () => {});
    renameSync(join(work, file.slice(dir.length + 1)), file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return file;
}

async function stageContext(
  recipe: Recipe,
  binDir: string,
  cacheDir: string,
  progress: Progress,
): Promise<string> {
  const node = await npmTarball(cacheDir, recipe.node.package, recipe.node.version, progress);
  const npm = await npmTarball(cacheDir, 'npm', recipe.npm.version, progress);
  const context = mkdtempSync(join(cacheDir, 'context-'));
  await run('tar', ['-xzf', node, '-C', context, 'package/bin/node'], progress);
  renameSync(join(context, 'package/bin/node'), join(context, 'node'));
  rmSync(join(context, 'package'), { recursive: true, force: true });
  await run('tar', ['-xzf', npm, '-C', context], progress);
  renameSync(join(context, 'package'), join(context, 'npm'));
  mkdirSync(join(context, 'bin'));
  for (const name of BINARIES) {
    const from = join(binDir, name);
    if (existsSync(from)) copyFileSync(from, join(context, 'bin', name));
  }
  copyFileSync(join(HERE, 'Dockerfile'), join(context, 'Dockerfile'));
  copyFileSync(join(HERE, 'entrypoint.sh'), join(context, 'entrypoint.sh'));
  return context;
}

async function dockerBuild(
  docker: Docker,
  context: string,
  input: { tag: string; rootfs: string; labels: Record<string, string> },
  progress: Progress,
): Promise<void> {
  const tar = spawn('tar', ['-C', context, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stream = await docker.buildImage(tar.stdout, {
    t: input.tag,
    buildargs: { ROOTFS: input.rootfs },
    labels: input.labels,
    rm: true,
    forcerm: true,
  });
  const failures: string[] = [];
  await new Promise<void>((resolvePromise, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolvePromise()),
      (event: { stream?: string; error?: string }) => {
        if (event.error) failures.push(event.error);
        const line = event.stream?.trim();
        if (line && /^Step \d+\/\d+/.test(line))
          progress(line.length > 120 ? `${line.slice(0, 117)}...` : line);
      },
    ),
  );
  if (failures.length > 0) throw new Error(`docker build failed: ${failures.join('; ')}`);
}

/** Work directories of a build that was interrupted (Ctrl-C during ./dev start). */
function clearLeftovers(cacheDir: string): void {
  for (const dir of [cacheDir, join(cacheDir, 'npm')]) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      if (/^(debootstrap|context|pack)-|\.partial$/.test(entry))
        rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** Build the base image unless one with the same content hash exists. */
export async function ensureBaseImage(options: BaseImageOptions = {}): Promise<BaseImage> {
  const docker = options.docker ?? new Docker();
  const tag = options.tag ?? DEFAULT_BASE_TAG;
  const binDir = options.binDir ?? join(ROOT, 'target/release');
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const progress = options.progress ?? (() => {});
  const hash = await baseImageHash(options);
  const current = await labelOf(docker, tag);
  if (current?.hash === hash) return { tag, hash, imageId: current.id, built: false, rootfsBuilt: false };
  mkdirSync(cacheDir, { recursive: true });
  return withLock(
    // One lock per machine: every checkout builds into the same Docker engine.
    join(tmpdir(), 'airlock-image-build.lock'),
    async () => {
      clearLeftovers(cacheDir);
      // Someone else may have built it while we waited.
      const again = await labelOf(docker, tag);
      if (again?.hash === hash) return { tag, hash, imageId: again.id, built: false, rootfsBuilt: false };
      const recipe = loadRecipe();
      progress(`building ${tag} (content ${hash})`);
      const rootfs = await ensureRootfsImage(docker, recipe, cacheDir, progress);
      const context = await stageContext(recipe, binDir, cacheDir, progress);
      try {
        await dockerBuild(
          docker,
          context,
          { tag, rootfs: rootfs.tag, labels: { ...options.labels, [HASH_LABEL]: hash } },
          progress,
        );
      } finally {
        rmSync(context, { recursive: true, force: true });
      }
      const built = await labelOf(docker, tag);
      if (built?.hash !== hash) throw new Error(`docker build did not label ${tag} with ${hash}`);
      // The image this one replaces, unless containers or snapshots still use it.
      if (again !== null && again.id !== built.id)
        await docker
          .getImage(again.id)
          .remove()
          .catch(() => {});
      progress(`built ${tag}`);
      return { tag, hash, imageId: built.id, built: true, rootfsBuilt: rootfs.built };
    },
    { onWait: () => progress('waiting for another image build to finish') },
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const tagIndex = process.argv.indexOf('--tag');
  const tag = tagIndex > 0 ? process.argv[tagIndex + 1] : undefined;
  try {
    const image = await ensureBaseImage({
      ...(tag === undefined ? {} : { tag }),
      progress: (line) => process.stdout.write(`image   │ ${line}\n`),
    });
    process.stdout.write(
      `image   │ ${image.tag} ${image.built ? 'built' : 'up to date'} (content ${image.hash}, ${image.imageId.slice(0, 19)})\n`,
    );
  } catch (error) {
    process.stderr.write(`image: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
