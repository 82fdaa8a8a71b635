import type { Config } from '@airlock/config';
import { isEncryptedUrl } from '@airlock/schema/plan';
import { openConnection, stringField } from '../broker/connections.ts';
import { Sealer } from '../lib/crypto.ts';
import type { Database } from '../lib/db.ts';
import { type ProviderAccount, ProviderError } from './types.ts';

// Whose account a remote sandbox runs in (ADR 0163): the deployment's keys
// (`sandbox.provider_credentials = "deployment"`) or the org's sandbox-provider
// connection the profile names. Opened here, in the control plane, for the one
// provider call that needs it; never put in a plan, a sandbox or a log.

export interface E2bAccess {
  readonly apiKey: string;
  readonly apiUrl: string;
  readonly domain: string;
  /** Envd's address when it is not `https://sandbox.<domain>` (local stand-ins). */
  readonly sandboxUrl: string | undefined;
}

export interface ModalAccess {
  readonly tokenId: string;
  readonly tokenSecret: string;
  readonly endpoint: string;
}

interface Deps {
  readonly db: Database;
  readonly config: Config;
}

const E2B_API = 'https://api.e2b.app';
const MODAL_API = 'https://api.modal.com';

async function openAccount(deps: Deps, account: ProviderAccount, integration: 'e2b' | 'modal') {
  const name = integration === 'e2b' ? 'E2B' : 'Modal';
  if (account.connectionId === null)
    throw new ProviderError(
      'invalid',
      `${name}: this profile names no ${name} sandbox-provider connection, and the deployment runs remote sandboxes in each org's own account (sandbox.provider_credentials = "org").`,
    );
  const opened = await openConnection(
    deps.db,
    new Sealer(deps.config.integrations),
    account.orgId,
    account.connectionId,
  );
  if (!opened.ok) throw new ProviderError('invalid', `${name}: ${opened.message}.`, opened.code);
  if (opened.connection.integration !== integration)
    throw new ProviderError(
      'invalid',
      `${name}: connection ${account.connectionId} is a ${opened.connection.integration} connection, not a ${name} sandbox provider.`,
    );
  return opened.connection;
}

/** A destination the provider key may go to: https, or anything on a `local` deployment (ADR 0120). */
function destination(config: Config, name: string, url: string): string {
  if (!URL.canParse(url)) throw new ProviderError('invalid', `${name}: ${url} is not a URL.`);
  if (!isEncryptedUrl(url) && config.env !== 'local')
    throw new ProviderError(
      'invalid',
      `${name}: refusing to send the account key to plain-http ${new URL(url).origin}; only a deployment with env = "local" may.`,
    );
  return url.replace(/\/+$/, '');
}

export async function e2bAccess(deps: Deps, account: ProviderAccount): Promise<E2bAccess> {
  const settings = deps.config.sandbox.e2b;
  if (deps.config.sandbox.provider_credentials === 'deployment') {
    if (settings?.api_key === undefined)
      throw new ProviderError('invalid', 'E2B: the deployment has no sandbox.e2b.api_key.');
    return {
      apiKey: settings.api_key,
      apiUrl: destination(deps.config, 'E2B', settings.api_url),
      domain: settings.domain,
      sandboxUrl:
        settings.sandbox_url === undefined
          ? undefined
          : destination(deps.config, 'E2B', settings.sandbox_url),
    };
  }
  const connection = await openAccount(deps, account, 'e2b');
  const apiKey = stringField(connection.credential, 'api_key');
  if (apiKey === undefined)
    throw new ProviderError('invalid', `E2B: connection ${connection.id} has no API key.`);
  const baseUrl = stringField(connection.config, 'base_url') ?? settings?.api_url ?? E2B_API;
  return {
    apiKey,
    apiUrl: destination(deps.config, 'E2B', baseUrl),
    domain: stringField(connection.config, 'domain') ?? settings?.domain ?? 'e2b.app',
    // Envd's address override is the deployment's alone (its stand-in); an org moves it with `domain`.
    sandboxUrl:
      settings?.sandbox_url === undefined ? undefined : destination(deps.config, 'E2B', settings.sandbox_url),
  };
}

export async function modalAccess(deps: Deps, account: ProviderAccount): Promise<ModalAccess> {
  const settings = deps.config.sandbox.modal;
  if (deps.config.sandbox.provider_credentials === 'deployment') {
    if (settings?.token_id === undefined || settings.token_secret === undefined)
      throw new ProviderError(
        'invalid',
        'Modal: the deployment has no sandbox.modal token_id and token_secret.',
      );
    return {
      tokenId: settings.token_id,
      tokenSecret: settings.token_secret,
      endpoint: destination(deps.config, 'Modal', settings.endpoint),
    };
  }
  const connection = await openAccount(deps, account, 'modal');
  const tokenId = stringField(connection.config, 'token_id');
  const tokenSecret = stringField(connection.credential, 'token_secret');
  if (tokenId === undefined || tokenSecret === undefined)
    throw new ProviderError('invalid', `Modal: connection ${connection.id} has no token id and secret.`);
  const endpoint = stringField(connection.config, 'base_url') ?? settings?.endpoint ?? MODAL_API;
  return { tokenId, tokenSecret, endpoint: destination(deps.config, 'Modal', endpoint) };
}
