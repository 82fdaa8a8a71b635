import { BlockList, isIP } from 'node:net';

// E2B's egress decision, as E2B's orchestrator makes it (its `tcpfirewall`
// and per-sandbox nftables sets; ADR 0160 says what it stops):
// - `allow_internet_access: false` is `denyOut: ["0.0.0.0/0"]`;
// - allowOut entries are IPs/CIDRs or domain names (`*.x` wildcards); domains
//   are matched only on TCP, by the TLS SNI (port 443) or HTTP Host (port 80),
//   and an allowed domain is dialled by *name* (so a forged /etc/hosts or SNI
//   towards another address lands at the real host);
// - order: allowed domain, allowed CIDR, denied CIDR, then allowed by default;
// - private, loopback, link-local and CGNAT ranges are always denied;
// - non-TCP traffic is filtered by CIDR only, except that E2B lets DNS through
//   to its resolver (8.8.8.8) whenever a domain is allowed.

export const E2B_NAMESERVER = '8.8.8.8';
export const ALL_TRAFFIC = '0.0.0.0/0';

const ALWAYS_DENIED = [
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

export interface EgressPolicy {
  readonly allowDomains: readonly string[];
  readonly allowCidrs: readonly string[];
  readonly denyCidrs: readonly string[];
}

export type Decision = {
  readonly allowed: boolean;
  readonly match: 'domain' | 'cidr' | 'default' | 'always_denied';
};

export class PolicyError extends Error {}

const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function cidrOf(entry: string): string | null {
  const [address, bits, ...rest] = entry.split('/');
  if (address === undefined || rest.length > 0 || isIP(address) !== 4) return null;
  if (bits === undefined) return `${address}/32`;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= 32 ? `${address}/${n}` : null;
}

/** The NewSandbox body's network fields, parsed the way E2B's API validates them. */
export function policyFrom(body: { allow_internet_access?: unknown; network?: unknown }): EgressPolicy {
  const network = (body.network ?? {}) as { allowOut?: unknown; denyOut?: unknown };
  const list = (value: unknown, name: string): string[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw new PolicyError(`network.${name} must be a list of strings`);
    return value as string[];
  };
  const allowDomains: string[] = [];
  const allowCidrs: string[] = [];
  for (const entry of list(network.allowOut, 'allowOut')) {
    const cidr = cidrOf(entry);
    if (cidr !== null) allowCidrs.push(cidr);
    else if (DOMAIN.test(entry.toLowerCase())) allowDomains.push(entry.toLowerCase());
    else throw new PolicyError(`invalid allowOut entry ${JSON.stringify(entry)}`);
  }
  const denyCidrs = list(network.denyOut, 'denyOut').map((entry) => {
    const cidr = cidrOf(entry);
    if (cidr === null)
      throw new PolicyError(`invalid denyOut entry ${JSON.stringify(entry)} (domains are not supported)`);
    return cidr;
  });
  if (body.allow_internet_access === false && !denyCidrs.includes(ALL_TRAFFIC)) denyCidrs.push(ALL_TRAFFIC);
  return { allowDomains, allowCidrs, denyCidrs };
}

function blockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    if (address !== undefined && bits !== undefined) list.addSubnet(address, Number(bits), 'ipv4');
  }
  return list;
}

const alwaysDenied = blockList(ALWAYS_DENIED);

function matchDomain(hostname: string, pattern: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.'))
    return hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1;
  return hostname === pattern;
}

/** A TCP connection's fate: `hostname` from SNI/Host (null when there is none), `ip` its destination. */
export function decide(policy: EgressPolicy, hostname: string | null, ip: string | null): Decision {
  if (hostname !== null) {
    const host = hostname.toLowerCase();
    if (policy.allowDomains.some((pattern) => matchDomain(host, pattern)))
      return { allowed: true, match: 'domain' };
  }
  if (ip === null || isIP(ip) !== 4 || alwaysDenied.check(ip, 'ipv4'))
    return { allowed: false, match: 'always_denied' };
  if (blockList(policy.allowCidrs).check(ip, 'ipv4')) return { allowed: true, match: 'cidr' };
  if (blockList(policy.denyCidrs).check(ip, 'ipv4')) return { allowed: false, match: 'cidr' };
  return { allowed: true, match: 'default' };
}

/** Whether E2B lets the sandbox's DNS queries reach its resolver. */
export function dnsAllowed(policy: EgressPolicy): boolean {
  if (policy.allowDomains.length > 0) return true;
  return decide(policy, null, E2B_NAMESERVER).allowed;
}
