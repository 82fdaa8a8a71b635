import {
  AGENT_BUILD_PREPARE,
  AGENT_PACKAGES,
  AGENTS,
  agentInstallSpec,
  agentVersionOf,
  type RuntimePlan,
  WORKSPACE_ROOT,
} from '@airlock/schema/plan';
import { SANDBOX_AGENT_PREFIX } from '@airlock/schema/runner';
import type { SandboxProvider, SandboxRef } from '../providers/types.ts';
import type { BuildLog } from './build-log.ts';
import { buildExecEnv } from './sandbox-env.ts';
import { streamedExec } from './streamed-exec.ts';

// What a build does inside its temporary sandbox, one function per workflow
// step. Each returns `null` when it succeeded, or why it failed (the step,
// the exit code, the last lines of output); provider errors are thrown and
// retried by the workflow. Network access happens only as the `sandbox` user
// through sandboxd's proxy, i.e. through the build's gateway.
//
// Root steps never act on a path the `sandbox` user can change (ADR 0112): the
// agent install, its dependencies' scripts and the setup script run as that
// user and can plant symlinks in the home directory or the agent prefix. So
// whatever lands in the user's files is written by the user; root only makes
// the prefix (under root-owned /opt/airlock), links the runtime's own command
// names into /usr/local/bin without replacing anything, and removes its CA
// from root-owned trust directories.

export interface StepFailure {
  readonly reason: string;
  readonly exitCode: number | null;
}

export interface BuildSandbox {
  readonly provider: SandboxProvider;
  readonly ref: SandboxRef;
  readonly plan: RuntimePlan;
  readonly log: BuildLog;
}

/** Agent CLIs go here (owned by `sandbox`), linked into /usr/local/bin so every user finds them. */
export const AGENT_PREFIX = SANDBOX_AGENT_PREFIX;

interface RunOptions {
  readonly user: 'root' | 'sandbox';
  readonly stdin?: string;
  readonly timeoutSeconds?: number;
  readonly workdir?: string;
}

/** A build command; its stdout for the caller, or why it failed (exit code, last lines of output). */
async function runCapture(
  b: BuildSandbox,
  what: string,
  operationId: string,
  command: string[],
  options: RunOptions,
): Promise<StepFailure | { readonly stdout: string }> {
  const timeoutSeconds = options.timeoutSeconds ?? 600;
  const outcome = await streamedExec(
    b.provider,
    b.ref,
    {
      operationId,
      command,
      user: options.user,
      env: buildExecEnv(b.plan),
      timeoutSeconds,
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.workdir === undefined ? {} : { workdir: options.workdir }),
    },
    b.log,
  );
  if (outcome.exitCode === 0 && !outcome.timedOut) return { stdout: outcome.stdout };
  const ended = outcome.timedOut ? `timed out after ${timeoutSeconds} s` : `exited with ${outcome.exitCode}`;
  const tail = b.log.tail() || `${outcome.stdout}${outcome.stderr}`.split('\n').slice(-15).join('\n');
  return { reason: `${what} ${ended}${tail === '' ? '' : `:\n${tail}`}`, exitCode: outcome.exitCode };
}

async function run(
  b: BuildSandbox,
  what: string,
  operationId: string,
  command: string[],
  options: RunOptions,
): Promise<StepFailure | null> {
  const outcome = await runCapture(b, what, operationId, command, options);
  return 'reason' in outcome ? outcome : null;
}

/** What the install step found in the prefix: the version npm actually installed. */
export interface InstalledAgent {
  readonly version: string;
}

const VERSION_LINE = /^installed-version: (\S{1,80})$/m;

/**
 * npm global install of the runtime's CLI at the plan's pinned version (or the `latest` tag,
 * opted into) from the configured registry (passthrough in the plan), then the runtime's own
 * preparation (e.g. OpenCode's plugin package, which it would otherwise fetch at every start).
 * The log names the version installed; so does the returned value.
 */
export async function installAgent(b: BuildSandbox, registry: string): Promise<StepFailure | InstalledAgent> {
  const runtime = b.plan.agent.runtime;
  const spec = agentInstallSpec(runtime, agentVersionOf(runtime, b.plan.agent.version));
  const cli = AGENTS[runtime].interactive[0] ?? runtime;
  b.log.system(`installing ${spec} (${runtime}) from the npm registry`);
  const prepared = await run(
    b,
    'preparing the agent prefix',
    'agent.prefix',
    // /opt/airlock is root's: the user cannot have put anything at this path; -h all the same.
    ['sh', '-c', `mkdir -p ${AGENT_PREFIX} && chown -h sandbox:sandbox ${AGENT_PREFIX}`],
    { user: 'root' },
  );
  if (prepared !== null) return prepared;
  const installed = await run(
    b,
    `npm install ${spec}`,
    'agent.install',
    [
      'sh',
      '-c',
      'cache=$(mktemp -d) && npm install --global --prefix "$1" --registry "$2" --cache "$cache" --no-fund --no-audit --no-update-notifier "$3"; code=$?; rm -rf "$cache"; exit $code',
      'npm-install',
      AGENT_PREFIX,
      registry,
      spec,
    ],
    { user: 'sandbox', timeoutSeconds: 1200 },
  );
  if (installed !== null) return installed;
  // Only the runtime's own commands, by name (never whatever the install left in bin/), and
  // never over an existing file: a planted `bin/sandboxd` must not replace the image's.
  const commands = [...new Set([cli, AGENTS[runtime].headless[0] ?? cli])];
  const linked = await run(
    b,
    'linking the agent CLI',
    'agent.link',
    [
      'sh',
      '-c',
      'prefix=$1; shift; for name in "$@"; do src="$prefix/bin/$name"; dst="/usr/local/bin/$name"; ' +
        'if [ -L "$dst" ] && [ "$(readlink "$dst")" = "$src" ]; then continue; fi; ' +
        'ln -s -- "$src" "$dst" || exit 1; done',
      'agent-link',
      AGENT_PREFIX,
      ...commands,
    ],
    { user: 'root' },
  );
  if (linked !== null) return linked;
  // The version npm put in the prefix, as the log's last word on it; then the CLI itself runs.
  // Codex refuses to start without its CODEX_HOME (the plan's env names it).
  const checked = await runCapture(
    b,
    `${cli} --version`,
    'agent.check',
    [
      'sh',
      '-c',
      'v=$(node -p "require(process.argv[1]).version" "$1/lib/node_modules/$2/package.json") || exit 1; echo "installed-version: $v"; if [ -n "$CODEX_HOME" ]; then mkdir -p "$CODEX_HOME"; fi; exec "$3" --version',
      'check',
      AGENT_PREFIX,
      AGENT_PACKAGES[runtime],
      cli,
    ],
    { user: 'sandbox' },
  );
  if ('reason' in checked) return checked;
  const version = VERSION_LINE.exec(checked.stdout)?.[1];
  if (version === undefined)
    return { reason: `${cli} --version did not report the installed version`, exitCode: null };
  b.log.system(`installed ${AGENT_PACKAGES[runtime]}@${version}`);
  const prepare = AGENT_BUILD_PREPARE[runtime];
  if (prepare !== null) {
    const ready = await run(
      b,
      `preparing ${runtime}`,
      'agent.prepare',
      ['sh', '-c', prepare, 'prepare', registry],
      {
        user: 'sandbox',
        timeoutSeconds: 600,
      },
    );
    if (ready !== null) return ready;
  }
  return { version };
}

/** Clone the plan's repositories through the gateway, which injects the git credential. */
export async function cloneRepositories(b: BuildSandbox): Promise<StepFailure | null> {
  for (const [i, repo] of b.plan.workspace.entries()) {
    b.log.system(
      `cloning ${repo.repository}${repo.ref === undefined ? '' : ` (${repo.ref})`} into ${repo.path}`,
    );
    const failed = await run(
      b,
      `git clone ${repo.repository}`,
      `clone.${i}`,
      [
        'sh',
        '-c',
        // A retried step finds the clone already there.
        'if [ -d "$2/.git" ]; then echo "already cloned"; exit 0; fi; mkdir -p "$(dirname "$2")" || exit 1; if [ -n "$3" ]; then exec git clone --progress --branch "$3" -- "$1" "$2"; fi; exec git clone --progress -- "$1" "$2"',
        'git-clone',
        repo.cloneUrl,
        repo.path,
        repo.ref ?? '',
      ],
      { user: 'sandbox', timeoutSeconds: 1200 },
    );
    if (failed !== null) return failed;
  }
  return null;
}

/**
 * The plan's files (agent and MCP config), written by `sandbox` itself: they live in its home,
 * where anything on the way may be a link it made. `ifAbsent` ones never overwrite.
 */
export async function writePlanFiles(b: BuildSandbox): Promise<StepFailure | null> {
  for (const [i, file] of b.plan.files.entries()) {
    b.log.system(`writing ${file.path}`);
    const failed = await run(
      b,
      `writing ${file.path}`,
      `file.${i}`,
      [
        'sh',
        '-c',
        'if [ "$3" = 1 ] && [ -e "$1" ]; then echo "kept (exists)"; exit 0; fi; mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"',
        'write-file',
        file.path,
        file.mode.toString(8),
        file.ifAbsent ? '1' : '0',
      ],
      { user: 'sandbox', stdin: file.content },
    );
    if (failed !== null) return failed;
  }
  return null;
}

/** The profile's setup script as `sandbox`, in the workspace, its output streamed to the log. */
export async function runSetupScript(b: BuildSandbox, script: string): Promise<StepFailure | null> {
  if (script.trim() === '') {
    b.log.system('no setup script');
    await b.log.flush();
    return null;
  }
  const only = b.plan.workspace.length === 1 ? b.plan.workspace[0] : undefined;
  const cwd = only?.path ?? WORKSPACE_ROOT;
  b.log.system(`running the setup script in ${cwd}`);
  return run(
    b,
    'the setup script',
    'setup',
    [
      'bash',
      '-c',
      // The script arrives on stdin, so it never sits in a process's arguments; it runs with
      // stdin closed and is removed before the image is captured.
      'f=$(mktemp /tmp/airlock-setup.XXXXXX) && cat > "$f" && mkdir -p "$1" && cd "$1" && bash "$f" </dev/null; code=$?; rm -f "$f"; exit $code',
      'airlock-setup',
      cwd,
    ],
    { user: 'sandbox', stdin: script, timeoutSeconds: 3600 },
  );
}

/**
 * Before capture: the temporary sandbox's CA certificate (its key never left sandboxd's
 * memory) must not stay trusted in the image; each session's sandboxd installs its own. Root
 * touches only root-owned trust directories; the user's own leftovers (temporary files, npm's
 * cache) are removed by the user, so a planted `~/.npm` link leads root nowhere.
 */
export async function scrubForCapture(b: BuildSandbox): Promise<StepFailure | null> {
  const trust = await run(
    b,
    'cleaning up before capture',
    'capture.scrub',
    [
      'sh',
      '-c',
      'rm -f /usr/local/share/ca-certificates/airlock-sandbox-ca.crt /etc/airlock/ca.pem && (update-ca-certificates --fresh >/dev/null 2>&1 || true)',
    ],
    { user: 'root' },
  );
  if (trust !== null) return trust;
  return run(
    b,
    'cleaning up before capture',
    'capture.scrub-user',
    [
      'sh',
      '-c',
      'rm -rf /tmp/airlock-*; if [ -d "$HOME/.npm" ] && [ ! -L "$HOME/.npm" ]; then rm -rf "$HOME/.npm/_cacache"; fi; exit 0',
    ],
    { user: 'sandbox' },
  );
}
