import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { EgressFirewall } from './egress-firewall.ts';
import type { EgressPolicy } from './egress-policy.ts';
import { ProcessTable } from './processes.ts';

// The stand-in's sandboxes: each one a real Docker container on the stand-in's
// firewalled network (egress-firewall.ts), with E2B's lifecycle around it —
// a timeout that kills it, pause/resume (docker pause), snapshots
// (docker commit → a new template), metadata, an envd access token.

export const ENVD_VERSION = '0.6.5';
/** Addresses the sandbox's hosts file gives the world's names (TEST-NET-3: "public", routed nowhere). */
const WORLD_ADDRESS_BASE = '203.0.113.';

export interface Template {
  readonly templateID: string;
  readonly image: string;
  readonly names: string[];
  readonly createdAt: Date;
  readonly cpuCount: number;
  readonly memoryMB: number;
}

export interface StandInSandbox {
  readonly sandboxID: string;
  readonly templateID: string;
  readonly containerId: string;
  readonly ip: string;
  readonly metadata: Record<string, string>;
  readonly envdAccessToken: string | undefined;
  readonly policy: EgressPolicy;
  readonly startedAt: Date;
  readonly processes: ProcessTable;
  readonly allowInternetAccess: boolean | null;
  readonly network: Record<string, unknown> | undefined;
  endAt: Date;
  state: 'running' | 'paused';
  timer: NodeJS.Timeout | undefined;
}

export class SandboxRegistry {
  readonly sandboxes = new Map<string, StandInSandbox>();
  readonly templates = new Map<string, Template>();
  readonly #docker: Docker;
  readonly #firewall: EgressFirewall;
  readonly #worldNames: readonly string[];
  readonly #tag: string;

  constructor(docker: Docker, firewall: EgressFirewall, tag: string, worldNames: readonly string[]) {
    this.#docker = docker;
    this.#firewall = firewall;
    this.#tag = tag;
    this.#worldNames = worldNames;
  }

  addTemplate(templateID: string, image: string): Template {
    const template = {
      templateID,
      image,
      names: [`${templateID}:default`],
      createdAt: new Date(),
      cpuCount: 2,
      memoryMB: 2048,
    };
    this.templates.set(templateID, template);
    return template;
  }

  /** A template by id or `id:tag` (snapshots are templates with a tag). */
  template(ref: string): Template | undefined {
    return this.templates.get(ref.split(':')[0] ?? ref);
  }

  async create(input: {
    template: Template;
    envVars: Record<string, string>;
    metadata: Record<string, string>;
    timeoutSeconds: number;
    secure: boolean;
    policy: EgressPolicy;
    allowInternetAccess: boolean | null;
    network: Record<string, unknown> | undefined;
  }): Promise<StandInSandbox> {
    const sandboxID = `i${randomBytes(10).toString('hex')}`;
    const container = await this.#docker.createContainer({
      Image: input.template.image,
      Cmd: ['sleep', 'infinity'],
      Env: Object.entries(input.envVars).map(([k, v]) => `${k}=${v}`),
      Labels: {
        'airlock.standin': 'e2b',
        'airlock.standin.instance': this.#tag,
        'airlock.e2b.sandbox': sandboxID,
      },
      HostConfig: {
        NetworkMode: this.#firewall.network,
        ExtraHosts: this.#worldNames.map((name, i) => `${name}:${WORLD_ADDRESS_BASE}${10 + i}`),
        Dns: ['8.8.8.8'],
        NanoCpus: input.template.cpuCount * 1e9,
        Memory: input.template.memoryMB * 1024 * 1024,
        PidsLimit: 4096,
      },
    });
    await container.start();
    const inspected = await container.inspect();
    const ip = inspected.NetworkSettings.Networks[this.#firewall.network]?.IPAddress ?? '';
    this.#firewall.register(ip, input.policy);
    const now = new Date();
    const sandbox: StandInSandbox = {
      sandboxID,
      templateID: input.template.templateID,
      containerId: container.id,
      ip,
      metadata: input.metadata,
      envdAccessToken: input.secure ? randomBytes(24).toString('base64url') : undefined,
      policy: input.policy,
      startedAt: now,
      processes: new ProcessTable(this.#docker, container.id),
      allowInternetAccess: input.allowInternetAccess,
      network: input.network,
      endAt: now,
      state: 'running',
      timer: undefined,
    };
    this.sandboxes.set(sandboxID, sandbox);
    this.setTimeout(sandbox, input.timeoutSeconds);
    return sandbox;
  }

  /** E2B kills a sandbox when its timeout passes (we model the default `onTimeout: kill`). */
  setTimeout(sandbox: StandInSandbox, seconds: number): void {
    clearTimeout(sandbox.timer);
    sandbox.endAt = new Date(Date.now() + seconds * 1000);
    sandbox.timer = setTimeout(() => void this.kill(sandbox.sandboxID), seconds * 1000);
    sandbox.timer.unref();
  }

  async kill(sandboxID: string): Promise<boolean> {
    const sandbox = this.sandboxes.get(sandboxID);
    if (sandbox === undefined) return false;
    this.sandboxes.delete(sandboxID);
    clearTimeout(sandbox.timer);
    this.#firewall.unregister(sandbox.ip);
    sandbox.processes.closeAll();
    await this.#docker
      .getContainer(sandbox.containerId)
      .remove({ force: true })
      .catch(() => {});
    return true;
  }

  async pause(sandbox: StandInSandbox): Promise<void> {
    await this.#docker.getContainer(sandbox.containerId).pause();
    sandbox.state = 'paused';
  }

  async resume(sandbox: StandInSandbox): Promise<void> {
    if (sandbox.state === 'paused') await this.#docker.getContainer(sandbox.containerId).unpause();
    sandbox.state = 'running';
  }

  /** The sandbox's filesystem as a new template (E2B keeps memory too; builds stop sandboxd first). */
  async snapshot(sandbox: StandInSandbox, name: string | undefined): Promise<Template> {
    const templateID = name ?? `snap${randomBytes(8).toString('hex')}`;
    const repo = `airlock-e2b-snapshot-${this.#tag}`;
    await this.#docker.getContainer(sandbox.containerId).commit({ repo, tag: templateID, pause: true });
    return this.addTemplate(templateID, `${repo}:${templateID}`);
  }

  async deleteTemplate(templateID: string): Promise<boolean> {
    const template = this.templates.get(templateID);
    if (template === undefined) return false;
    this.templates.delete(templateID);
    if (template.image.startsWith('airlock-e2b-snapshot-'))
      await this.#docker
        .getImage(template.image)
        .remove({ force: true })
        .catch(() => {});
    return true;
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.sandboxes.keys()]) await this.kill(id);
    for (const template of [...this.templates.values()])
      if (template.image.startsWith('airlock-e2b-snapshot-')) await this.deleteTemplate(template.templateID);
  }
}
