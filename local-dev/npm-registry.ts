import { execFileSync } from 'node:child_process';

// The npm registry this machine uses, as npm itself reports it. Snapshot builds
// install agent CLIs from it (config `sandbox.npm_registry`) and the static
// check refuses its host in tracked files: it is derived here at run time,
// never written down.

export function npmRegistryUrl(): string | undefined {
  try {
    const url = execFileSync('npm', ['config', 'get', 'registry'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return new URL(url).href;
  } catch {
    return undefined;
  }
}
