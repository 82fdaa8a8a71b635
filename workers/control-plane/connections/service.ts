import type { Connection, FieldError } from '@airlock/schema/api';
import type { connections } from '@airlock/schema/db';
import {
  checkFields,
  connectionRoutes,
  type IntegrationDefinition,
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

/** Field errors for a connection's settings and (when given) credentials. Messages never echo values. */
export function connectionErrors(
  def: IntegrationDefinition,
  config: Record<string, string>,
  credentials: Record<string, string> | undefined,
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

export function sealedColumns(sealed: Sealed) {
  return {
    credentialCiphertext: sealed.ciphertext,
    credentialNonce: sealed.nonce,
    credentialKeyVersion: sealed.keyVersion,
  };
}
