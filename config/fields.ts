import type { z } from 'zod';
import { ConfigSchema } from './schema.ts';

// The schema read as a flat list of settable fields. The env naming rule and
// secret masking both come from here, so they cannot drift from the schema.

export type FieldKind = 'string' | 'number' | 'boolean' | 'array' | 'enum' | 'record';

export interface Field {
  /** Dotted path, e.g. `auth.otp.length`. Records end at the record: `integrations.master_keys`. */
  readonly path: string;
  readonly kind: FieldKind;
  readonly secret: boolean;
  /** `AIRLOCK_` + path segments uppercased and joined by `_`; records take the key as a suffix. */
  readonly envName: string;
  readonly description: string | undefined;
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

interface Unwrapped {
  readonly core: z.ZodType;
  readonly secret: boolean;
  readonly description: string | undefined;
}

function unwrap(schema: z.ZodType): Unwrapped {
  let current = schema;
  let secret = false;
  let description: string | undefined;
  for (;;) {
    const meta = current.meta() as { secret?: boolean; description?: string } | undefined;
    if (meta?.secret === true) secret = true;
    description ??= meta?.description ?? current.description;
    const def = current.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return { core: current, secret, description };
  }
}

export function envNameFor(path: string): string {
  return `AIRLOCK_${path.replaceAll('.', '_').toUpperCase()}`;
}

function collect(schema: z.ZodType, prefix: string[], out: Field[]): void {
  const { core, secret, description } = unwrap(schema);
  const type = (core.def as { type: string }).type;
  const path = prefix.join('.');
  if (type === 'object') {
    const shape = (core as z.ZodObject).shape as Record<string, z.ZodType>;
    for (const [key, child] of Object.entries(shape)) collect(child, [...prefix, key], out);
    return;
  }
  if (type === 'record') {
    const value = unwrap((core.def as unknown as { valueType: z.ZodType }).valueType);
    out.push({
      path,
      kind: 'record',
      secret: secret || value.secret,
      envName: envNameFor(path),
      description,
    });
    return;
  }
  const kind: FieldKind =
    type === 'number' || type === 'boolean' || type === 'array' || type === 'enum' ? type : 'string';
  out.push({ path, kind, secret, envName: envNameFor(path), description });
}

function buildFields(): readonly Field[] {
  const out: Field[] = [];
  collect(ConfigSchema, [], out);
  return out;
}

export const FIELDS: readonly Field[] = buildFields();

/** The field a dotted path belongs to (a record field owns every key under it). */
export function fieldForPath(path: readonly (string | number)[]): Field | undefined {
  const dotted = path.join('.');
  return FIELDS.find((f) => f.path === dotted || (f.kind === 'record' && dotted.startsWith(`${f.path}.`)));
}
