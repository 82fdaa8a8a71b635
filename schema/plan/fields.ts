import type { FieldSpec } from './catalog.ts';

// Checks a connection's values against the catalog's field specs. Messages
// never repeat a secret field's value.

export interface FieldIssue {
  /** The field name (`api_key`, `base_url`, …). */
  readonly field: string;
  readonly message: string;
}

export function checkFields(
  specs: readonly FieldSpec[],
  values: Readonly<Record<string, unknown>>,
  options: { partial?: boolean } = {},
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const known = new Set(specs.map((s) => s.name));
  for (const name of Object.keys(values).sort())
    if (!known.has(name))
      issues.push({
        field: name,
        message: `unknown field; expected one of ${[...known].join(', ') || '(none)'}`,
      });
  for (const spec of specs) {
    const value = values[spec.name];
    if (value === undefined || value === '') {
      if (spec.required && !options.partial)
        issues.push({ field: spec.name, message: `${spec.label} is required` });
      continue;
    }
    if (typeof value !== 'string') {
      issues.push({ field: spec.name, message: `${spec.label} must be a string` });
      continue;
    }
    if (spec.minLength !== undefined && value.length < spec.minLength)
      issues.push({
        field: spec.name,
        message: `${spec.label} must be at least ${spec.minLength} characters`,
      });
    else if (value.length > spec.maxLength)
      issues.push({
        field: spec.name,
        message: `${spec.label} must be at most ${spec.maxLength} characters`,
      });
    else if (spec.options !== undefined && !spec.options.includes(value))
      issues.push({ field: spec.name, message: `${spec.label} must be one of ${spec.options.join(', ')}` });
    else if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(value))
      issues.push({
        field: spec.name,
        message: `${spec.label} must be ${spec.patternHint ?? `of the form ${spec.pattern}`}`,
      });
  }
  return issues;
}
