import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { npmRegistryUrl } from '../npm-registry.ts';
import { ROOT } from '../paths.ts';

// Registry and mirror hosts must never be written into the project: where a
// sandbox needs one it is derived at run time from the package manager's own
// configuration. This check derives the hosts the same way (npm's registry,
// apt's sources) and fails when a tracked file other than a lockfile names one.

function npmRegistryHost(): string | undefined {
  const url = npmRegistryUrl();
  return url === undefined ? undefined : new URL(url).hostname;
}

function aptHosts(): string[] {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const name of readdirSync(dir)) files.push(join(dir, name));
  const hosts = new Set<string>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(/\bhttps?:\/\/([a-z0-9.-]+)/gi)) {
      if (match[1]) hosts.add(match[1].toLowerCase());
    }
  }
  return [...hosts];
}

export function registryHosts(): string[] {
  return [...new Set([npmRegistryHost(), ...aptHosts()].filter((h): h is string => h !== undefined))];
}

export interface Finding {
  readonly file: string;
  readonly line: number;
  readonly host: string;
}

const LOCKFILE = /(^|\/)(pnpm-lock\.yaml|Cargo\.lock|package-lock\.json)$/;

export function findRegistryHosts(hosts: readonly string[] = registryHosts()): Finding[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '' && !LOCKFILE.test(f) && existsSync(join(ROOT, f)));
  const findings: Finding[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    if (text.includes('\u0000')) continue;
    const lower = text.toLowerCase();
    for (const host of hosts) {
      let at = lower.indexOf(host);
      while (at >= 0) {
        findings.push({ file, line: lower.slice(0, at).split('\n').length, host });
        at = lower.indexOf(host, at + host.length);
      }
    }
  }
  return findings;
}

// `node local-dev/checks/registry-hosts.ts`: exit 1 with one line per finding.
if (import.meta.url === `file://${process.argv[1]}`) {
  const hosts = registryHosts();
  const findings = findRegistryHosts(hosts);
  for (const f of findings)
    process.stderr.write(`${f.file}:${f.line}: names the registry/mirror host ${f.host}\n`);
  process.stdout.write(
    `registry hosts checked: ${hosts.length} (${findings.length} finding${findings.length === 1 ? '' : 's'})\n`,
  );
  process.exit(findings.length === 0 ? 0 : 1);
}
