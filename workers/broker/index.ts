import { WorkerEntrypoint } from 'cloudflare:workers';
import { allowsPlainHttp, type Config, configFromWorkerEnv } from '@airlock/config';
import type {
  BrokerErrorCode,
  BrokerRpc,
  CredentialRequest,
  CredentialResult,
  SigningKeyInfo,
  SignRequest,
  SignResult,
} from '@airlock/schema/gateway';
import { isEncryptedUrl, PLAIN_HTTP_REFUSED } from '@airlock/schema/plan';
import { Sealer } from '../lib/crypto.ts';
import { type Database, openDb } from '../lib/db.ts';
import type { Env } from '../lib/env.ts';
import { createLogger } from '../lib/log.ts';
import { compareAndSetCredential, markConnectionError, openConnection, stringField } from './connections.ts';
import { githubApiBase, mintInstallationToken } from './github-app.ts';
import { refreshAccessToken } from './oauth2.ts';
import { openSigningKey, signingKeyInfo } from './signing.ts';
import { signSshsig } from './ssh-signature.ts';

// The credential broker (DESIGN.md §4.6): reachable only through the BROKER
// service binding, never over HTTP. It decrypts connection secrets, mints
// GitHub App installation tokens, refreshes OAuth2 access tokens (storing a
// rotated refresh token sealed, compare-and-set, before the access token is
// used) and signs commits with the org's key. Minted credentials go through
// the connection's ConnectionTokens object, which makes them single-flight.
// Results are values with codes; no message ever carries secret material.

const log = createLogger({ part: 'broker' });

/** A minting endpoint the credential may not go to: plain http outside a local deployment (ADR 0120). */
function plainEndpoint(
  config: Config,
  what: string,
  url: string,
): { ok: false; code: BrokerErrorCode; message: string } | undefined {
  if (isEncryptedUrl(url)) return undefined;
  if (!URL.canParse(url)) return { ok: false, code: 'MISCONFIGURED', message: `${what} is not a valid URL` };
  if (allowsPlainHttp(config)) return undefined;
  return {
    ok: false,
    code: 'MISCONFIGURED',
    message: `${what} ${new URL(url).origin} is plain http://; it ${PLAIN_HTTP_REFUSED}`,
  };
}

export class Broker extends WorkerEntrypoint<Env> implements BrokerRpc {
  async #withDb<T>(run: (db: Database, sealer: Sealer, config: Config) => Promise<T>): Promise<T> {
    const config = configFromWorkerEnv(this.env);
    const handle = openDb(config);
    try {
      return await run(handle.db, new Sealer(config.integrations), config);
    } finally {
      this.ctx.waitUntil(handle.end().catch(() => {}));
    }
  }

  async resolve(request: CredentialRequest): Promise<CredentialResult> {
    if (request.source === 'secret') return this.#withDb((db, sealer) => this.#secret(db, sealer, request));
    const tokens = this.env.CONNECTION_TOKENS;
    return tokens.get(tokens.idFromName(request.connectionId)).token(request);
  }

  async #secret(db: Database, sealer: Sealer, request: CredentialRequest): Promise<CredentialResult> {
    const opened = await openConnection(db, sealer, request.orgId, request.connectionId);
    if (!opened.ok) return opened;
    const { credential } = opened.connection;
    const strings = Object.keys(credential).filter((k) => typeof credential[k] === 'string');
    const field = request.field ?? (strings.length === 1 ? strings[0] : undefined);
    const value = field === undefined ? undefined : stringField(credential, field);
    if (value === undefined)
      return {
        ok: false,
        code: 'CREDENTIAL_INVALID',
        message: `connection ${request.connectionId} has no credential field ${field ?? '(unnamed)'}`,
      };
    return { ok: true, value, expiresAt: null };
  }

  /** Mint a GitHub App or OAuth2 token. Called by ConnectionTokens only (the single flight). */
  async mint(request: CredentialRequest): Promise<CredentialResult> {
    return this.#withDb(async (db, sealer, config): Promise<CredentialResult> => {
      switch (request.source) {
        case 'github_app':
          return this.#githubApp(db, sealer, config, request);
        case 'oauth2':
          // A compare-and-set lost to a concurrent writer re-reads the row once.
          for (let attempt = 0; attempt < 2; attempt++) {
            const result = await this.#oauth2(db, sealer, config, request);
            if (result !== 'conflict') return result;
          }
          return {
            ok: false,
            code: 'PROVIDER_REJECTED',
            message: 'the refresh token changed while refreshing; try again',
          };
        default:
          return { ok: false, code: 'MISCONFIGURED', message: 'stored secrets are not minted' };
      }
    });
  }

  async #githubApp(
    db: Database,
    sealer: Sealer,
    config: Config,
    request: CredentialRequest,
  ): Promise<CredentialResult> {
    const opened = await openConnection(db, sealer, request.orgId, request.connectionId);
    if (!opened.ok) return opened;
    const { credential, config: settings } = opened.connection;
    const privateKeyPem = stringField(credential, 'private_key');
    const appId = stringField(settings, 'app_id');
    const installationId = stringField(settings, 'installation_id');
    if (privateKeyPem === undefined || appId === undefined || installationId === undefined)
      return {
        ok: false,
        code: 'MISCONFIGURED',
        message: 'a GitHub App connection needs private_key, app_id and installation_id',
      };
    const apiBase = githubApiBase(stringField(settings, 'base_url'));
    const plain = plainEndpoint(config, 'the GitHub API', apiBase);
    if (plain !== undefined) return plain;
    const result = await mintInstallationToken({
      privateKeyPem,
      appId,
      installationId,
      apiBase,
      repositories: request.repositories,
      now: Math.floor(Date.now() / 1000),
    });
    if (!result.ok)
      log.warn('github app token refused', { connectionId: request.connectionId, code: result.code });
    return result;
  }

  async #oauth2(
    db: Database,
    sealer: Sealer,
    deployment: Config,
    request: CredentialRequest,
  ): Promise<CredentialResult | 'conflict'> {
    const opened = await openConnection(db, sealer, request.orgId, request.connectionId);
    if (!opened.ok) return opened;
    const { credential, config, ciphertext } = opened.connection;
    const refreshToken = stringField(credential, 'refresh_token');
    const clientSecret = stringField(credential, 'client_secret');
    const tokenUrl = stringField(config, 'token_url');
    const clientId = stringField(config, 'client_id');
    if (
      refreshToken === undefined ||
      clientSecret === undefined ||
      tokenUrl === undefined ||
      clientId === undefined
    )
      return {
        ok: false,
        code: 'MISCONFIGURED',
        message: 'an OAuth2 connection needs refresh_token, client_secret, token_url and client_id',
      };
    const plain = plainEndpoint(deployment, 'the token endpoint', tokenUrl);
    if (plain !== undefined) return plain;
    const refreshed = await refreshAccessToken({
      tokenUrl,
      clientId,
      clientSecret,
      refreshToken,
      scope: stringField(config, 'scope'),
      authMethod:
        config.token_endpoint_auth_method === 'client_secret_post'
          ? 'client_secret_post'
          : 'client_secret_basic',
    });
    if (!refreshed.ok) {
      if (refreshed.error === 'invalid_grant')
        await markConnectionError(
          db,
          request.connectionId,
          'the provider rejected the refresh token (invalid_grant); reconnect it',
        );
      log.warn('oauth2 refresh refused', { connectionId: request.connectionId, error: refreshed.error });
      return { ok: false, code: refreshed.code, message: refreshed.message };
    }
    if (refreshed.refreshToken !== null && refreshed.refreshToken !== refreshToken) {
      // Rotation: the new refresh token is stored before the access token is used,
      // or the connection would be left holding a spent one.
      const stored = await compareAndSetCredential(db, sealer, request.connectionId, ciphertext, {
        ...credential,
        refresh_token: refreshed.refreshToken,
      });
      if (!stored) return 'conflict';
    }
    const lifetime = refreshed.expiresIn ?? 3600;
    return { ok: true, value: refreshed.accessToken, expiresAt: Date.now() + lifetime * 1000 };
  }

  async sign(request: SignRequest): Promise<SignResult> {
    if (request.sha512.length !== 64)
      return { ok: false, code: 'MISCONFIGURED', message: 'expected a SHA-512 digest' };
    return this.#withDb(async (db, sealer) => {
      const key = await openSigningKey(db, sealer, request.orgId);
      const signature = await signSshsig(key.privateKey, key.publicRaw, request.namespace, request.sha512);
      return { ok: true, signature, publicKey: key.publicKey, keyId: key.keyId };
    });
  }

  async signingKey(orgId: string): Promise<SigningKeyInfo> {
    return this.#withDb((db, sealer) => signingKeyInfo(db, sealer, orgId));
  }
}
