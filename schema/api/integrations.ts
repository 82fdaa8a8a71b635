import { z } from 'zod';
import { CATALOG, type IntegrationDefinition } from '../plan/catalog.ts';
import { HttpMethod } from '../plan/types.ts';

// GET /api/integrations: the catalog as the dashboard renders it (forms from
// the field specs, the hosts each integration brokers).

export const FieldSpec = z
  .object({
    name: z.string(),
    label: z.string(),
    secret: z.boolean(),
    required: z.boolean(),
    pattern: z.string().optional(),
    patternHint: z.string().optional(),
    minLength: z.number().int().optional(),
    maxLength: z.number().int(),
    multiline: z.boolean().optional(),
    options: z.array(z.string()).optional(),
    help: z.string().optional(),
    /** Decides where the credential is sent: changing it needs the credentials re-entered. */
    destination: z.boolean().optional(),
  })
  .meta({ id: 'FieldSpec' });

export const IntegrationRoute = z
  .object({
    hosts: z.array(z.string()),
    pathPrefixes: z.array(z.string()),
    methods: z.array(HttpMethod),
    upstream: z.string(),
    /** Placement, or `config:<field>` when the connection chooses it. */
    inject: z.string(),
  })
  .meta({ id: 'IntegrationRoute' });

export const Integration = z
  .object({
    key: z.string(),
    family: z.string(),
    displayName: z.string(),
    description: z.string(),
    kind: z.enum(['model', 'git', 'connector', 'sandbox_provider']),
    modelApi: z.enum(['openai', 'anthropic']).nullable(),
    credentialSource: z.enum(['secret', 'github_app', 'oauth2']),
    credentialFields: z.array(FieldSpec),
    configFields: z.array(FieldSpec),
    defaultBaseUrl: z.string().nullable(),
    override: z.enum(['upstream', 'service', 'required']),
    routes: z.array(IntegrationRoute),
    passthrough: z.array(z.string()),
    /** Environment variables the sandbox gets (values are placeholders or URLs). */
    env: z.array(z.string()),
    /** Whether `POST …/connections/{id}/test` can check a connection of this integration. */
    testable: z.boolean(),
  })
  .meta({ id: 'Integration' });

export const IntegrationList = z.object({ items: z.array(Integration) }).meta({ id: 'IntegrationList' });

export type Integration = z.infer<typeof Integration>;

export function describeIntegration(def: IntegrationDefinition): Integration {
  const inject = (kind: IntegrationDefinition['routes'][number]['inject']['kind']) =>
    typeof kind === 'string' ? kind : `config:${kind.config}`;
  return {
    key: def.key,
    family: def.family,
    displayName: def.displayName,
    description: def.description,
    kind: def.kind,
    modelApi: def.modelApi ?? null,
    credentialSource: def.credentialSource,
    credentialFields: def.credentialFields.map((f) => ({
      ...f,
      options: f.options ? [...f.options] : undefined,
    })),
    configFields: def.configFields.map((f) => ({ ...f, options: f.options ? [...f.options] : undefined })),
    defaultBaseUrl: def.defaultBaseUrl ?? null,
    override: def.override,
    routes: def.routes.map((r) => ({
      hosts: [...r.hosts],
      pathPrefixes: [...r.pathPrefixes],
      methods: [...r.methods],
      upstream: r.upstream,
      inject: inject(r.inject.kind),
    })),
    passthrough: [...def.passthrough],
    env: Object.keys(def.env).sort(),
    testable: def.probe !== undefined,
  } as Integration;
}

export const describeCatalog = (): Integration[] => CATALOG.map(describeIntegration);

export { RUNTIME_MODEL_APIS } from '../plan/catalog.ts';
/** The API's own field checks, so the dashboard's generated forms say exactly what the API would. */
export { checkFields, type FieldIssue } from '../plan/fields.ts';
