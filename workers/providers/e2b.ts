import type { SandboxStartupInput } from '@airlock/schema/runner';
import { ALL_TRAFFIC, CommandExitError, Sandbox, type SandboxOpts, TimeoutError } from 'e2b';
import type { E2bAccess } from './credentials.ts';
import { e2bError } from './e2b-errors.ts';
import { shellCommand } from './shell.ts';
import {
  type CreateSandboxInput,
  type ExecInput,
  type ExecOutcome,
  type ExecOutputChunk,
  type ProviderAccount,
  ProviderError,
  type SandboxProvider,
  type SandboxRef,
  type SandboxStatus,
  type TunnelDial,
} from './types.ts';

// E2B sandboxes, driven from the Worker with E2B's own SDK (ADR 0160). A
// sandbox is created from a template (the base template, or a snapshot a build
// captured) with the only egress E2B's firewall lets through: TCP to the
// gateway's host, matched on TLS SNI / HTTP Host and dialled by E2B itself.
// sandboxd is started through envd with its startup input on stdin (so the
// bootstrap token is in no argument, environment variable or file), and dials
// the Worker's public `wss://…/tunnel/<id>`.

/** Metadata every Airlock sandbox carries: how teardown, retries and the orphan sweep find it. */
export const E2B_METADATA = { marker: 'airlock', sandboxId: 'airlockSandboxId', org: 'airlockOrg' } as const;

/** What E2B keeps a sandbox alive for when the caller names no lifetime (its own timer is the cost backstop). */
const DEFAULT_LIFETIME_SECONDS = 3600;
/** E2B's ceiling for one sandbox's timeout (Pro plans). */
const MAX_LIFETIME_SECONDS = 24 * 3600;
const OUTPUT_TAIL = 64 * 1024;
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

export interface E2bProviderOptions {
  readonly access: E2bAccess;
  readonly account: ProviderAccount;
  /** `wss://host[:port]` (or `ws://` on a local deployment) sandboxes dial; `/tunnel/<id>` is appended. */
  readonly tunnelBase: string;
}

export class E2bProvider implements SandboxProvider {
  readonly kind = 'e2b' as const;
  readonly #access: E2bAccess;
  readonly #account: ProviderAccount;
  readonly #tunnelBase: string;
  /** Output of execs run through this instance, for `execOutput` (live build logs). */
  readonly #outputs = new Map<string, ExecOutputChunk[]>();

  constructor(options: E2bProviderOptions) {
    this.#access = options.access;
    this.#account = options.account;
    this.#tunnelBase = options.tunnelBase.replace(/\/+$/, '');
  }

  tunnelFor(sessionId: string): TunnelDial {
    return { kind: 'url', url: `${this.#tunnelBase}/tunnel/${sessionId}` };
  }

  /** The only egress we ask E2B to allow: the gateway's host, by name (ADR 0160). */
  networkPolicy(): NonNullable<SandboxOpts['network']> {
    return { allowOut: [new URL(this.#tunnelBase).hostname], denyOut: [ALL_TRAFFIC] };
  }

  async create(input: CreateSandboxInput): Promise<SandboxRef> {
    // No idempotency key at E2B: a retried create finds the sandbox the first attempt made.
    const existing = await this.#find(input.sandboxId);
    if (existing !== null) return this.#ref(input.sandboxId, existing);
    const lifetime = Math.min(input.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS);
    let sandbox: Sandbox;
    try {
      sandbox = await Sandbox.create(input.image, {
        ...this.#opts(),
        timeoutMs: lifetime * 1000,
        secure: true,
        allowInternetAccess: false,
        network: this.networkPolicy(),
        metadata: {
          [E2B_METADATA.marker]: '1',
          [E2B_METADATA.sandboxId]: input.sandboxId,
          [E2B_METADATA.org]: input.orgId,
        },
        ...(input.env === undefined ? {} : { envs: { ...input.env } }),
      });
    } catch (error) {
      throw e2bError('creating the sandbox', error);
    }
    // A provider response is untrusted input: a sandbox id or envd domain of the API's choosing
    // would send the bootstrap token (start's stdin) wherever it points.
    if (!SANDBOX_ID.test(sandbox.sandboxId) || sandbox.sandboxDomain !== this.#access.domain) {
      await Sandbox.kill(sandbox.sandboxId, this.#opts()).catch(() => false);
      throw new ProviderError(
        'failed',
        `E2B: the API answered with a sandbox outside this account's domain (${JSON.stringify(sandbox.sandboxDomain).slice(0, 80)}); refused.`,
        'e2b_response',
      );
    }
    return this.#ref(input.sandboxId, sandbox.sandboxId);
  }

  async start(ref: SandboxRef, input: { operationId: string; startup?: SandboxStartupInput }): Promise<void> {
    const sandbox = await this.#connect(ref);
    try {
      const running = await sandbox.commands.list();
      if (running.some((p) => p.args.join(' ').includes('airlock-entrypoint')))
        throw new ProviderError('conflict', 'E2B: sandboxd is already running in this sandbox.');
      const handle = await sandbox.commands.run('exec /usr/local/bin/airlock-entrypoint', {
        background: true,
        stdin: input.startup !== undefined,
        user: 'root',
        timeoutMs: 0,
      });
      if (input.startup !== undefined) {
        await handle.sendStdin(JSON.stringify(input.startup));
        await handle.closeStdin();
      }
      await handle.disconnect();
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw e2bError('starting sandboxd', error);
    }
  }

  async stop(ref: SandboxRef, _input: { operationId: string; graceSeconds?: number }) {
    // E2B sandboxes have no stopped state worth paying for: stopping is killing (destroy).
    await this.destroy(ref, { operationId: 'stop' });
    return { exitCode: null };
  }

  async destroy(ref: SandboxRef, _input: { operationId: string }): Promise<void> {
    const ids = ref.externalId === null ? await this.#findAll(ref.sandboxId) : [this.#externalId(ref)];
    for (const id of ids) {
      try {
        await Sandbox.kill(id, this.#opts());
      } catch (error) {
        const mapped = e2bError('killing the sandbox', error);
        if (mapped.code !== 'not_found') throw mapped;
      }
    }
  }

  async snapshot(ref: SandboxRef, _input: { operationId: string; snapshotId: string }) {
    // An E2B snapshot keeps processes and memory: the build's sandboxd (its CA key in memory, its
    // session's identity) must not wake up in every session started from it.
    const sandbox = await this.#connect(ref);
    try {
      for (const process of await sandbox.commands.list())
        if (process.args.join(' ').includes('airlock-entrypoint')) await sandbox.commands.kill(process.pid);
      const info = await Sandbox.createSnapshot(this.#externalId(ref), this.#opts());
      return { imageRef: info.snapshotId };
    } catch (error) {
      throw e2bError('capturing the snapshot', error);
    }
  }

  async exec(ref: SandboxRef, input: ExecInput): Promise<ExecOutcome> {
    const sandbox = await this.#connect(ref);
    const chunks: ExecOutputChunk[] = [];
    this.#outputs.set(input.operationId, chunks);
    const tails = { stdout: '', stderr: '' };
    let truncated = false;
    const sink = (stream: 'stdout' | 'stderr') => (data: string) => {
      chunks.push({ seq: chunks.length, stream, data });
      tails[stream] += data;
      if (tails[stream].length > OUTPUT_TAIL) {
        tails[stream] = tails[stream].slice(-OUTPUT_TAIL);
        truncated = true;
      }
    };
    const started = Date.now();
    const outcome = (exitCode: number, timedOut: boolean): ExecOutcome => ({
      exitCode,
      stdout: tails.stdout,
      stderr: tails.stderr,
      truncated,
      timedOut,
      durationMs: Date.now() - started,
    });
    try {
      const handle = await sandbox.commands.run(shellCommand(input.command), {
        background: true,
        stdin: input.stdin !== undefined,
        user: input.user ?? 'sandbox',
        ...(input.workdir === undefined ? {} : { cwd: input.workdir }),
        ...(input.env === undefined ? {} : { envs: { ...input.env } }),
        timeoutMs: (input.timeoutSeconds ?? 600) * 1000,
        onStdout: sink('stdout'),
        onStderr: sink('stderr'),
      });
      if (input.stdin !== undefined) {
        await handle.sendStdin(input.stdin);
        await handle.closeStdin();
      }
      const result = await handle.wait();
      return outcome(result.exitCode, false);
    } catch (error) {
      if (error instanceof CommandExitError) return outcome(error.exitCode, false);
      if (error instanceof TimeoutError) return outcome(124, true);
      throw e2bError('running a command', error);
    }
  }

  async execOutput(_ref: SandboxRef, input: { operationId: string; afterSeq?: number }) {
    const after = input.afterSeq ?? -1;
    return (this.#outputs.get(input.operationId) ?? []).filter((c) => c.seq > after);
  }

  async status(ref: SandboxRef): Promise<SandboxStatus> {
    try {
      const info = await Sandbox.getInfo(this.#externalId(ref), this.#opts());
      return {
        state: info.state === 'running' ? 'running' : 'exited',
        exitCode: null,
        externalId: info.sandboxId,
      };
    } catch (error) {
      throw e2bError('reading the sandbox', error);
    }
  }

  /** Airlock's live sandboxes in this account (for the orphan sweep): E2B id → Airlock owner id. */
  async listOwned(): Promise<Array<{ externalId: string; owner: string; orgId: string }>> {
    const found: Array<{ externalId: string; owner: string; orgId: string }> = [];
    try {
      const pages = Sandbox.list({ ...this.#opts(), query: { metadata: { [E2B_METADATA.marker]: '1' } } });
      for (let page = 0; page < 50 && pages.hasNext; page++)
        for (const info of await pages.nextItems()) {
          const owner = info.metadata[E2B_METADATA.sandboxId];
          const orgId = info.metadata[E2B_METADATA.org];
          if (owner !== undefined && orgId !== undefined)
            found.push({ externalId: info.sandboxId, owner, orgId });
        }
    } catch (error) {
      throw e2bError('listing sandboxes', error);
    }
    return found;
  }

  async #find(sandboxId: string): Promise<string | null> {
    return (await this.#findAll(sandboxId))[0] ?? null;
  }

  async #findAll(sandboxId: string): Promise<string[]> {
    try {
      const pages = Sandbox.list({
        ...this.#opts(),
        query: { metadata: { [E2B_METADATA.sandboxId]: sandboxId }, state: ['running', 'paused'] },
      });
      const ids: string[] = [];
      for (let page = 0; page < 5 && pages.hasNext; page++)
        for (const info of await pages.nextItems())
          if (info.metadata[E2B_METADATA.sandboxId] === sandboxId) ids.push(info.sandboxId);
      return ids;
    } catch (error) {
      throw e2bError('looking the sandbox up', error);
    }
  }

  async #connect(ref: SandboxRef): Promise<Sandbox> {
    try {
      const sandbox = await Sandbox.connect(this.#externalId(ref), this.#opts());
      if (sandbox.sandboxDomain !== this.#access.domain)
        throw new ProviderError(
          'failed',
          'E2B: the API moved the sandbox to another domain; refused.',
          'e2b_response',
        );
      return sandbox;
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw e2bError('connecting to the sandbox', error);
    }
  }

  #externalId(ref: SandboxRef): string {
    if (ref.provider !== 'e2b' || ref.externalId === null)
      throw new ProviderError('invalid', 'This sandbox reference is not an E2B sandbox.');
    return ref.externalId;
  }

  #ref(sandboxId: string, externalId: string): SandboxRef {
    return {
      provider: 'e2b',
      sandboxId,
      runnerId: null,
      externalId,
      orgId: this.#account.orgId,
      connectionId: this.#account.connectionId,
    };
  }

  #opts() {
    return {
      apiKey: this.#access.apiKey,
      apiUrl: this.#access.apiUrl,
      domain: this.#access.domain,
      ...(this.#access.sandboxUrl === undefined ? {} : { sandboxUrl: this.#access.sandboxUrl }),
      requestTimeoutMs: 30_000,
    };
  }
}
