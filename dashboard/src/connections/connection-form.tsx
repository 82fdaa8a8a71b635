import type { Connection, FieldError, Integration } from '@airlock/schema/api';
import { type FormEvent, useMemo, useState } from 'react';
import { Button } from '../ui/button.tsx';
import { SelectField, TextArea, TextField } from '../ui/field.tsx';
import {
  type FormField,
  initialValues,
  layoutOf,
  type Payload,
  payloadOf,
  problemsOf,
  serverProblems,
} from './field-form.ts';

// The add/edit form of a connection, generated from its integration's fields.
// Checks run on submit with the API's own rules; the API's 422 field errors
// land on the same inputs. Secrets are password inputs that start empty.

export interface ConnectionFormProps {
  readonly integration: Integration;
  readonly existing?: Connection;
  readonly busy: boolean;
  readonly serverErrors: readonly FieldError[];
  readonly submitLabel: string;
  readonly onSubmit: (input: { name: string } & Payload) => void;
}

export function ConnectionForm({
  integration,
  existing,
  busy,
  serverErrors,
  submitLabel,
  onSubmit,
}: ConnectionFormProps) {
  const mode = existing === undefined ? 'create' : 'edit';
  const layout = useMemo(() => layoutOf(integration), [integration]);
  const [name, setName] = useState(existing?.name ?? integration.displayName);
  const [values, setValues] = useState(() => initialValues(integration, existing));
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const server = useMemo(() => serverProblems(serverErrors, layout), [serverErrors, layout]);
  const problem = (path: string) => local.get(path) ?? server.get(path);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problems = problemsOf(integration, values, mode);
    setLocal(problems);
    if (problems.size > 0) {
      const first = [...layout.main, ...layout.advanced].find((f) => problems.has(f.path));
      if (first !== undefined) document.getElementById(inputId(first))?.focus();
      return;
    }
    onSubmit({ name: name.trim(), ...payloadOf(values, mode) });
  };

  const render = (f: FormField) => {
    const common = {
      id: inputId(f),
      name: f.path,
      label: f.spec.label,
      required: f.spec.required && !(f.spec.secret && mode === 'edit'),
      value: values[f.path] ?? '',
      error: problem(f.path),
      help: helpOf(f, mode),
    };
    const set = (value: string) => {
      setValues((v) => ({ ...v, [f.path]: value }));
      // A corrected field stops showing its old problem; the rest are rechecked on submit.
      setLocal((problems) => {
        if (!problems.has(f.path)) return problems;
        const next = new Map(problems);
        next.delete(f.path);
        return next;
      });
    };
    switch (f.input) {
      case 'select':
        return (
          <SelectField key={f.path} {...common} onChange={(e) => set(e.target.value)}>
            {(f.spec.options ?? []).map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </SelectField>
        );
      case 'textarea':
        return (
          <TextArea
            key={f.path}
            {...common}
            rows={6}
            spellCheck={false}
            autoComplete="off"
            className={f.spec.secret ? 'secret-input' : undefined}
            onChange={(e) => set(e.target.value)}
          />
        );
      default:
        return (
          <TextField
            key={f.path}
            {...common}
            type={f.input}
            autoComplete={f.spec.secret ? 'new-password' : 'off'}
            spellCheck={false}
            onChange={(e) => set(e.target.value)}
          />
        );
    }
  };

  return (
    <form onSubmit={submit} noValidate aria-label={`${integration.displayName} connection`}>
      <TextField
        label="Connection name"
        required
        value={name}
        error={server.get('name')}
        onChange={(e) => setName(e.target.value)}
        help="How profiles and the audit trail refer to it."
      />
      {layout.main.map(render)}
      {layout.advanced.length > 0 && (
        <details
          className="advanced"
          open={layout.advanced.some((f) => (values[f.path] ?? '') !== '' || problem(f.path) !== undefined)}
        >
          <summary>Advanced</summary>
          {layout.advanced.map(render)}
        </details>
      )}
      <Button type="submit" variant="primary" busy={busy}>
        {submitLabel}
      </Button>
    </form>
  );
}

const inputId = (f: FormField) => `field-${f.path.replace('.', '-')}`;

function helpOf(f: FormField, mode: 'create' | 'edit'): string | undefined {
  const parts = [f.spec.help];
  if (f.spec.secret)
    parts.push(
      mode === 'edit'
        ? 'Stored encrypted and never shown. Leave empty to keep it; to replace, enter every secret field.'
        : 'Stored encrypted; never shown again, never sent into a sandbox.',
    );
  const text = parts.filter((p) => p !== undefined).join(' ');
  return text === '' ? undefined : text;
}
