import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { decide, dnsAllowed, type EgressPolicy } from './egress-policy.ts';
import { httpHeadComplete, httpHost, peek, tlsRecordComplete, tlsSni } from './sniff.ts';

// E2B's network controls, enforced with Docker networking and the host's
// iptables (ADR 0162). The stand-in's sandboxes sit on one bridge network of
// their own (inter-container traffic off). On the host:
// - nat PREROUTING redirects every TCP connection from that bridge to one of
//   three local listeners: port 80 → the Host sniffer, 443 → the SNI sniffer,
//   anything else → the CIDR-only handler (as E2B's egress proxy does);
//   UDP to 8.8.8.8:53 goes to a recording resolver;
// - INPUT accepts only those listeners from the bridge and drops the rest (no
//   host service is reachable), DOCKER-USER drops everything it would forward.
// The listeners apply `decide()` (E2B's order) and dial an allowed domain by
// *name* through `world`, the stand-in's public DNS and internet: e.g.
// `airlock-gateway.test` → the local Worker. Nothing else exists out there.

const run = promisify(execFile);

async function iptables(...args: string[]): Promise<void> {
  await run('iptables', ['-w', ...args]);
}

async function iptablesQuiet(...args: string[]): Promise<void> {
  await iptables(...args).catch(() => {});
}

export interface DnsQuery {
  readonly from: string;
  readonly name: string;
}

export interface EgressEvent {
  readonly from: string;
  readonly port: 'http' | 'tls' | 'other';
  readonly hostname: string | null;
  readonly destination: string | null;
  readonly allowed: boolean;
}

/** The original destination of a REDIRECTed connection, from the kernel's conntrack table. */
async function originalDestination(socket: Socket): Promise<{ ip: string; port: number } | null> {
  const table = await readFile('/proc/net/nf_conntrack', 'utf8').catch(() => '');
  const needle = `src=${socket.remoteAddress} `;
  for (const line of table.split('\n')) {
    if (!line.includes(' tcp ')) continue;
    const first = /src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/.exec(line);
    if (first === null || !line.includes(needle) || Number(first[3]) !== socket.remotePort) continue;
    if (first[1] !== socket.remoteAddress) continue;
    return { ip: first[2] ?? '', port: Number(first[4]) };
  }
  return null;
}

export class EgressFirewall {
  readonly network: string;
  readonly gatewayIp: string;
  readonly subnet: string;
  readonly dnsQueries: DnsQuery[] = [];
  readonly events: EgressEvent[] = [];
  readonly #bridge: string;
  readonly #chain: string;
  readonly #world: ReadonlyMap<string, string>;
  readonly #policies = new Map<string, EgressPolicy>();
  readonly #servers: Server[] = [];
  #dns: UdpSocket | null = null;
  readonly #docker: Docker;

  private constructor(
    docker: Docker,
    init: {
      network: string;
      gatewayIp: string;
      subnet: string;
      bridge: string;
      chain: string;
      world: ReadonlyMap<string, string>;
    },
  ) {
    this.#docker = docker;
    this.network = init.network;
    this.gatewayIp = init.gatewayIp;
    this.subnet = init.subnet;
    this.#bridge = init.bridge;
    this.#chain = init.chain;
    this.#world = init.world;
  }

  /** `world`: public name → `host:port` it answers at (the only destinations that exist). */
  static async start(
    docker: Docker,
    tag: string,
    world: ReadonlyMap<string, string>,
  ): Promise<EgressFirewall> {
    if (process.getuid?.() !== 0)
      throw new Error('the E2B stand-in enforces egress with iptables and must run as root');
    const network = `airlock-e2b-${tag}`;
    const existing = await docker.listNetworks({ filters: { name: [network] } });
    for (const n of existing)
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
    const created = await docker.createNetwork({
      Name: network,
      Driver: 'bridge',
      Options: { 'com.docker.network.bridge.enable_icc': 'false' },
      Labels: { 'airlock.standin': 'e2b' },
    });
    const info = await docker.getNetwork(created.id).inspect();
    const config = info.IPAM?.Config?.[0];
    if (config?.Gateway === undefined || config.Subnet === undefined)
      throw new Error(`network ${network} has no gateway`);
    const firewall = new EgressFirewall(docker, {
      network,
      gatewayIp: config.Gateway,
      subnet: config.Subnet,
      bridge: `br-${created.id.slice(0, 12)}`,
      chain: `AIRLOCK-E2B-${tag.toUpperCase()}`.slice(0, 28),
      world,
    });
    await firewall.#listen();
    return firewall;
  }

  register(containerIp: string, policy: EgressPolicy): void {
    this.#policies.set(containerIp, policy);
  }

  unregister(containerIp: string): void {
    this.#policies.delete(containerIp);
  }

  async close(): Promise<void> {
    await this.#unhook();
    for (const server of this.#servers) server.close();
    this.#dns?.close();
    await this.#docker
      .getNetwork(this.network)
      .remove()
      .catch(() => {});
  }

  async #listen(): Promise<void> {
    const listen = (handler: (socket: Socket) => void) =>
      new Promise<number>((resolve) => {
        const server = createServer({ pauseOnConnect: true }, (socket) => {
          socket.on('error', () => {});
          handler(socket);
        });
        this.#servers.push(server);
        server.listen(0, this.gatewayIp, () => resolve((server.address() as AddressInfo).port));
      });
    const http = await listen((s) => void this.#handle(s, 'http'));
    const tls = await listen((s) => void this.#handle(s, 'tls'));
    const other = await listen((s) => void this.#handle(s, 'other'));
    const dns = createSocket('udp4');
    this.#dns = dns;
    dns.on('message', (message, remote) => this.#dnsQuery(message, remote.address, remote.port));
    const dnsPort = await new Promise<number>((resolve) =>
      dns.bind(0, this.gatewayIp, () => resolve(dns.address().port)),
    );
    await this.#unhook();
    const c = this.#chain;
    await iptables('-t', 'nat', '-N', c);
    await iptables(
      '-t',
      'nat',
      '-A',
      c,
      '-p',
      'tcp',
      '--dport',
      '80',
      '-j',
      'REDIRECT',
      '--to-ports',
      String(http),
    );
    await iptables(
      '-t',
      'nat',
      '-A',
      c,
      '-p',
      'tcp',
      '--dport',
      '443',
      '-j',
      'REDIRECT',
      '--to-ports',
      String(tls),
    );
    await iptables('-t', 'nat', '-A', c, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(other));
    await iptables(
      '-t',
      'nat',
      '-A',
      c,
      '-p',
      'udp',
      '-d',
      '8.8.8.8',
      '--dport',
      '53',
      '-j',
      'REDIRECT',
      '--to-ports',
      String(dnsPort),
    );
    await iptables('-t', 'nat', '-I', 'PREROUTING', '-i', this.#bridge, '-j', c);
    await iptables('-N', `${c}-IN`);
    await iptables(
      '-A',
      `${c}-IN`,
      '-p',
      'tcp',
      '-d',
      this.gatewayIp,
      '-m',
      'multiport',
      '--dports',
      `${http},${tls},${other}`,
      '-j',
      'ACCEPT',
    );
    await iptables(
      '-A',
      `${c}-IN`,
      '-p',
      'udp',
      '-d',
      this.gatewayIp,
      '--dport',
      String(dnsPort),
      '-j',
      'ACCEPT',
    );
    await iptables('-A', `${c}-IN`, '-j', 'DROP');
    await iptables('-I', 'INPUT', '-i', this.#bridge, '-j', `${c}-IN`);
    await iptables('-I', 'DOCKER-USER', '-i', this.#bridge, '-j', 'DROP');
  }

  async #unhook(): Promise<void> {
    const c = this.#chain;
    await iptablesQuiet('-t', 'nat', '-D', 'PREROUTING', '-i', this.#bridge, '-j', c);
    await iptablesQuiet('-t', 'nat', '-F', c);
    await iptablesQuiet('-t', 'nat', '-X', c);
    await iptablesQuiet('-D', 'INPUT', '-i', this.#bridge, '-j', `${c}-IN`);
    await iptablesQuiet('-F', `${c}-IN`);
    await iptablesQuiet('-X', `${c}-IN`);
    await iptablesQuiet('-D', 'DOCKER-USER', '-i', this.#bridge, '-j', 'DROP');
  }

  async #handle(socket: Socket, port: EgressEvent['port']): Promise<void> {
    const from = socket.remoteAddress ?? '';
    const policy = this.#policies.get(from);
    const original = await originalDestination(socket);
    let head: Buffer = Buffer.alloc(0);
    let hostname: string | null = null;
    if (port !== 'other') {
      head = await peek(socket, port === 'http' ? httpHeadComplete : tlsRecordComplete);
      hostname = port === 'http' ? httpHost(head) : tlsSni(head);
    }
    const decision =
      policy === undefined
        ? { allowed: false, match: 'default' as const }
        : decide(policy, hostname, original?.ip ?? null);
    // E2B's firewall accepts the connection first, then closes what it refuses.
    let target: string | undefined;
    if (decision.allowed && decision.match === 'domain' && hostname !== null)
      target = this.#world.get(hostname);
    else if (decision.allowed && original !== null)
      target = this.#world.get(original.ip) ?? `${original.ip}:${original.port}`;
    this.events.push({
      from,
      port,
      hostname,
      destination: original === null ? null : `${original.ip}:${original.port}`,
      allowed: decision.allowed && target !== undefined,
    });
    if (!decision.allowed || target === undefined) {
      socket.destroy();
      return;
    }
    const [host, targetPort] = splitHostPort(target);
    const upstream = connect({ host, port: targetPort });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('connect', () => {
      upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    });
  }

  #dnsQuery(message: Buffer, from: string, port: number): void {
    const policy = this.#policies.get(from);
    if (policy === undefined || !dnsAllowed(policy)) return; // dropped, as E2B drops it
    const name = dnsName(message);
    if (name !== null) this.dnsQueries.push({ from, name });
    // NXDOMAIN, same id and question: nothing resolves from in here but the hosts file.
    if (message.length < 12) return;
    const answer = Buffer.from(message);
    answer[2] = 0x81;
    answer[3] = 0x83;
    this.#dns?.send(answer, port, from);
  }
}

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  return [target.slice(0, at), Number(target.slice(at + 1))];
}

function dnsName(message: Buffer): string | null {
  const labels: string[] = [];
  let at = 12;
  for (let i = 0; i < 64 && at < message.length; i++) {
    const length = message[at] ?? 0;
    if (length === 0) return labels.join('.');
    labels.push(message.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return null;
}
