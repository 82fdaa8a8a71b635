import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { ControlApi, type ControlFaults } from './control-api.ts';
import { EgressFirewall } from './egress-firewall.ts';
import { Envd, type EnvdFaults } from './envd.ts';
import { SandboxRegistry } from './sandboxes.ts';

// A faithful local E2B (ADR 0162): its control API and envd on loopback,
// each sandbox a real Docker container behind E2B's egress rules, the
// unmodified `e2b` SDK as the client. `world` is the stand-in's internet:
// the public names a sandbox may be allowed to reach and the local address
// each one answers at (e.g. the Worker under `wrangler dev`).

export interface E2bStandInOptions {
  /** The API key it accepts (generated when absent). */
  readonly apiKey?: string;
  /** Template id → local Docker image; `airlock-base` → the sandbox base image by default. */
  readonly templates?: Readonly<Record<string, string>>;
  /** Public name → `host:port` (ports 80 and 443 of that name land there). */
  readonly world?: Readonly<Record<string, string>>;
  /** Names the network and the iptables chains (a few letters; unique per running stand-in). */
  readonly tag?: string;
}

export interface E2bStandIn {
  readonly apiUrl: string;
  readonly sandboxUrl: string;
  readonly apiKey: string;
  readonly registry: SandboxRegistry;
  readonly firewall: EgressFirewall;
  readonly faults: { control: ControlFaults; envd: EnvdFaults };
  readonly served: ControlApi['served'];
  /** Sandbox containers of this stand-in that Docker still has (the "nothing left running" check). */
  containers(): Promise<string[]>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

export async function startE2bStandIn(options: E2bStandInOptions = {}): Promise<E2bStandIn> {
  const docker = new Docker();
  const tag = options.tag ?? randomBytes(3).toString('hex');
  const world = new Map(Object.entries(options.world ?? {}));
  const firewall = await EgressFirewall.start(docker, tag, world);
  const registry = new SandboxRegistry(docker, firewall, tag, [...world.keys()]);
  for (const [id, image] of Object.entries(
    options.templates ?? { 'airlock-base': 'airlock/sandbox-base:latest' },
  ))
    registry.addTemplate(id, image);
  const apiKey = options.apiKey ?? `e2b_${randomBytes(20).toString('hex')}`;
  const control = new ControlApi(registry, apiKey);
  const envd = new Envd(registry);
  const apiServer = createServer((req, res) => void control.handle(req, res));
  const envdServer = createServer((req, res) => void envd.handle(req, res));
  const [apiUrl, sandboxUrl] = await Promise.all([listen(apiServer), listen(envdServer)]);
  return {
    apiUrl,
    sandboxUrl,
    apiKey,
    registry,
    firewall,
    faults: { control: control.faults, envd: envd.faults },
    served: control.served,
    async containers() {
      const found = await docker.listContainers({
        all: true,
        filters: { label: [`airlock.standin.instance=${tag}`] },
      });
      return found.map((c) => c.Id);
    },
    async close() {
      apiServer.closeAllConnections();
      envdServer.closeAllConnections();
      apiServer.close();
      envdServer.close();
      await registry.closeAll();
      await firewall.close();
    },
  };
}
