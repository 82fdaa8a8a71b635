import { type Connection, checkFields, type FieldError, type Integration } from '@airlock/schema/api';

// The logic behind the add/edit connection form, generated from an
// integration's declared fields: which inputs, in which section, what they
// start with, what is wrong with them (the API's own checks), and what is
// sent. Secret fields are write-only: they start empty, an edit leaves them
// untouched unless all of them are re-entered, and they are never shown.

export type FieldSpec = Integration['credentialFields'][number];

// The catalog's specs as the API serves them (optional keys may be absent or undefined).
type CatalogSpecs = Parameters<typeof checkFields>[0];
const specs = (fields: readonly FieldSpec[]) => fields as CatalogSpecs;

export interface FormField {
  readonly spec: FieldSpec;
  /** `credentials.<name>` or `config.<name>`: the path the API names in a 422. */
  readonly path: string;
  readonly input: 'password' | 'text' | 'url' | 'textarea' | 'select';
}

export interface FormLayout {
  readonly main: readonly FormField[];
  /** Optional overrides (the upstream base URL) behind "Advanced". */
  readonly advanced: readonly FormField[];
}

export type Values = Readonly<Record<string, string>>;

function field(spec: FieldSpec, secret: boolean): FormField {
  const path = `${secret ? 'credentials' : 'config'}.${spec.name}`;
  const input =
    spec.options !== undefined
      ? 'select'
      : spec.multiline === true
        ? 'textarea'
        : secret
          ? 'password'
          : spec.name === 'base_url'
            ? 'url'
            : 'text';
  return { spec, path, input };
}

export function layoutOf(integration: Integration): FormLayout {
  const all = [
    ...integration.credentialFields.map((s) => field(s, true)),
    ...integration.configFields.map((s) => field(s, false)),
  ];
  const isAdvanced = (f: FormField) => f.spec.name === 'base_url' && !f.spec.required;
  return { main: all.filter((f) => !isAdvanced(f)), advanced: all.filter(isAdvanced) };
}

/** Starting values: the connection's non-secret settings; secrets always empty. */
export function initialValues(integration: Integration, existing?: Connection): Record<string, string> {
  const values: Record<string, string> = {};
  for (const spec of integration.credentialFields) values[`credentials.${spec.name}`] = '';
  for (const spec of integration.configFields) {
    const current = existing?.config[spec.name];
    values[`config.${spec.name}`] = typeof current === 'string' ? current : (spec.options?.[0] ?? '');
  }
  return values;
}

function pick(values: Values, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, value] of Object.entries(values))
    if (path.startsWith(prefix) && value.trim() !== '') out[path.slice(prefix.length)] = value;
  return out;
}

export interface Payload {
  readonly config: Record<string, string>;
  /** Undefined on an edit that keeps the stored credentials. */
  readonly credentials: Record<string, string> | undefined;
}

export function payloadOf(values: Values, mode: 'create' | 'edit'): Payload {
  const credentials = pick(values, 'credentials.');
  return {
    config: pick(values, 'config.'),
    credentials: mode === 'edit' && Object.keys(credentials).length === 0 ? undefined : credentials,
  };
}

/** Problems by path, as the API would report them (the same checks), before anything is sent. */
export function problemsOf(
  integration: Integration,
  values: Values,
  mode: 'create' | 'edit',
): Map<string, string> {
  const { config, credentials } = payloadOf(values, mode);
  const problems = new Map<string, string>();
  for (const issue of checkFields(specs(integration.configFields), config))
    problems.set(`config.${issue.field}`, issue.message);
  if (credentials !== undefined)
    for (const issue of checkFields(specs(integration.credentialFields), credentials))
      problems.set(`credentials.${issue.field}`, issue.message);
  return problems;
}

/** A 422's field errors by path; a whole-section error (`config`) lands on the section's first field. */
export function serverProblems(errors: readonly FieldError[], layout: FormLayout): Map<string, string> {
  const problems = new Map<string, string>();
  const fields = [...layout.main, ...layout.advanced];
  for (const error of errors) {
    const target =
      fields.find((f) => f.path === error.path) ?? fields.find((f) => f.path.startsWith(`${error.path}.`));
    problems.set(target?.path ?? error.path, error.message);
  }
  return problems;
}
