import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startGithubStandIn } from '../standins/github.ts';
import { ensureTestTls } from '../test-tls.ts';
import { startOAuth2StandIn } from './oauth2.ts';
import './provided.ts';
import { startUpstream } from './upstream.ts';

// Vitest global setup for gateway suites: the upstream (HTTP + HTTPS with the
// test CA), GitHub (App installation tokens with real JWT checks), and an
// OAuth2 token endpoint, all on loopback. Tests inside workerd reach them
// through `inject('standIns')`; what the GitHub stand-in saw is served as
// JSON at `github.state`.

export type { StandIns } from './provided.ts';

function rsaKey() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tls = ensureTestTls();
  const upstream = await startUpstream(tls);
  const oauth2 = await startOAuth2StandIn();
  const app = rsaKey();
  const impostor = rsaKey();
  const projectRoot = mkdtempSync(join(tmpdir(), 'airlock-gh-'));
  const github = await startGithubStandIn({
    projectRoot,
    app: { id: '424242', installationId: '77', publicKeyPem: app.publicKey },
  });
  const state = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ issuedTokens: github.issuedTokens, requests: github.requests }));
  });
  await new Promise<void>((resolve) => state.listen(0, '127.0.0.1', () => resolve()));
  project.provide('standIns', {
    upstreamHttp: upstream.httpUrl,
    upstreamHttps: upstream.httpsUrl,
    oauth2: oauth2.url,
    github: {
      url: github.url,
      appId: '424242',
      installationId: '77',
      privateKeyPem: app.privateKey,
      impostorPem: impostor.privateKey,
      state: `http://127.0.0.1:${(state.address() as AddressInfo).port}/`,
    },
  });
  return async () => {
    await new Promise<void>((resolve) => state.close(() => resolve()));
    await Promise.all([upstream.close(), oauth2.close(), github.close()]);
    rmSync(projectRoot, { recursive: true, force: true });
  };
}
