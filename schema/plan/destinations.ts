import type { FieldSpec, IntegrationDefinition } from './catalog.ts';

// Where a connection sends its credential is decided by its destination
// fields (`FieldSpec.destination`: base URLs, token endpoints). Moving one
// needs the credential re-entered in the same change, and a destination that
// is not encrypted (http://, ws://) is accepted only on a `local` deployment
// (ADR 0120). Pure; the API, the plan compiler and the broker share it.

export function destinationFields(def: IntegrationDefinition): readonly FieldSpec[] {
  return def.configFields.filter((f) => f.destination === true);
}

function settingOf(config: Readonly<Record<string, unknown>>, name: string): string | undefined {
  if (!Object.hasOwn(config, name)) return undefined;
  const value = config[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Destination fields set, cleared or changed between two configs of one connection. */
export function movedDestinations(
  def: IntegrationDefinition,
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): readonly FieldSpec[] {
  return destinationFields(def).filter((f) => settingOf(before, f.name) !== settingOf(after, f.name));
}

/** True for a URL whose traffic is encrypted (https:, wss:); false for anything else or garbage. */
export function isEncryptedUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'wss:';
  } catch {
    return false;
  }
}

/** Destination fields whose URL is not encrypted. */
export function plainDestinations(
  def: IntegrationDefinition,
  config: Readonly<Record<string, unknown>>,
): readonly FieldSpec[] {
  return destinationFields(def).filter((f) => {
    const value = settingOf(config, f.name);
    return value !== undefined && !isEncryptedUrl(value);
  });
}

/** Why a plain destination is refused, for API errors and plan issues alike. */
export const PLAIN_HTTP_REFUSED =
  'must be https://; plain http:// is accepted only when the deployment is configured with env = "local"';
