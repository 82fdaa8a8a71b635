import type { TestProject } from 'vitest/node';
import { ensureTestTls } from '../test-tls.ts';
import { startGithubStandIn } from './github.ts';
import { startOAuth2StandIn } from './oauth2.ts';
import { startUpstream } from './upstream.ts';

// Vitest global setup for gateway suites: the upstream (HTTP + HTTPS with the
// test CA), GitHub's installation-token endpoint and an OAuth2 token endpoint,
// all on loopback. Their URLs reach tests through `inject('standIns')`.

export interface StandIns {
  readonly upstreamHttp: string;
  readonly upstreamHttps: string;
  readonly github: string;
  readonly oauth2: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    standIns: StandIns;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tls = ensureTestTls();
  const upstream = await startUpstream(tls);
  const github = await startGithubStandIn();
  const oauth2 = await startOAuth2StandIn();
  project.provide('standIns', {
    upstreamHttp: upstream.httpUrl,
    upstreamHttps: upstream.httpsUrl,
    github: github.url,
    oauth2: oauth2.url,
  });
  return async () => {
    await Promise.all([upstream.close(), github.close(), oauth2.close()]);
  };
}
