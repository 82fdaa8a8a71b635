import type { Connection, FieldError } from '@airlock/schema/api';
import type { connections } from '@airlock/schema/db';
import {
  checkFields,
  connectionRoutes,
  type IntegrationDefinition,
  movedDestinations,
  PLAIN_HTTP_REFUSED,
  plainDestinations,
  RouteBuildError,
} from '@airlock/schema/plan';
import type { Sealed } from '../../lib/crypto.ts';
import { iso } from '../env.ts';

// Connection rows in and out. Credentials are a JSON object of the
// integration's secret fields, sealed with the row id as context; they are
// opened only by the broker, never by an API response.

export function connectionOut(
  row: typeof connections.$inferSelect,
  def: IntegrationDefinition | undefined,
): Connection {
  return {
    id: row.id,
    integration: row.integration,
    name: row.name,
    status: row.status,
    statusReason: row.statusReason,
    config: row.config,
    credentialFields: def?.credentialFields.map((f) => f.name) ?? [],
    createdBy: row.createdBy,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/**
 * Field errors for a connection's settings and (when given) credentials. Messages never echo
 * values. `allowPlainHttp` (a local deployment only) lets destinations be http:// (ADR 0120).
 */
export function connectionErrors(
  def: IntegrationDefinition,
  config: Record<string, string>,
  credentials: Record<string, string> | undefined,
  options: { allowPlainHttp: boolean },
): FieldError[] {
  const errors: FieldError[] = [
    ...checkFields(def.configFields, config).map((i) => ({
      path: `config.${i.field}`,
      message: i.message,
      code: 'invalid_field',
    })),
    ...(credentials === undefined
      ? []
      : checkFields(def.credentialFields, credentials).map((i) => ({
          path: `credentials.${i.field}`,
          message: i.message,
          code: 'invalid_field',
        }))),
  ];
  if (!options.allowPlainHttp)
    for (const field of plainDestinations(def, config))
      errors.push({
        path: `config.${field.name}`,
        message: `${field.label} ${PLAIN_HTTP_REFUSED}`,
        code: 'insecure_url',
      });
  if (errors.length === 0) {
    try {
      connectionRoutes(def, { id: 'con_check', integration: def.key, status: 'active', config });
    } catch (error) {
      if (!(error instanceof RouteBuildError)) throw error;
      errors.push({ path: 'config', message: error.message, code: 'invalid_field' });
    }
  }
  return errors;
}

/**
 * A change that moves where the credential is sent must carry the credential again (ADR 0120):
 * whoever holds an owner's or admin's session or token must not be able to redirect a stored
 * secret they never saw. Errors name each moved field and each credential field to re-enter.
 */
export function destinationErrors(
  def: IntegrationDefinition,
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
  credentials: Record<string, string> | undefined,
): { moved: string[]; errors: FieldError[] } {
  const moved = movedDestinations(def, before, after);
  const names = moved.map((f) => f.name);
  if (moved.length === 0 || credentials !== undefined) return { moved: names, errors: [] };
  return {
    moved: names,
    errors: [
      ...moved.map((f) => ({
        path: `config.${f.name}`,
        message: `${f.label} decides where the credential is sent; re-enter the credentials in the same change to move it`,
        code: 'credentials_required',
      })),
      ...def.credentialFields.map((f) => ({
        path: `credentials.${f.name}`,
        message: `re-enter ${f.label} to move this connection to another destination`,
        code: 'credentials_required',
      })),
    ],
  };
}

export function sealedColumns(sealed: Sealed) {
  return {
    credentialCiphertext: sealed.ciphertext,
    credentialNonce: sealed.nonce,
    credentialKeyVersion: sealed.keyVersion,
  };
}
