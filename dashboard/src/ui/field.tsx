import { type ComponentProps, type ReactNode, useId } from 'react';

// Form fields with their label, help and error wired up for assistive
// technology (aria-describedby, aria-invalid), in one consistent layout.

interface FieldFrame {
  readonly label: ReactNode;
  readonly help?: ReactNode;
  readonly error?: string | undefined;
}

function Frame({
  id,
  label,
  help,
  error,
  children,
}: FieldFrame & { id: string; children: (described: string | undefined) => ReactNode }) {
  const helpId = help === undefined ? undefined : `${id}-help`;
  const errorId = error === undefined ? undefined : `${id}-error`;
  const described = [helpId, errorId].filter((x) => x !== undefined).join(' ') || undefined;
  return (
    <div className={`field${error === undefined ? '' : ' field-invalid'}`}>
      <label htmlFor={id}>{label}</label>
      {children(described)}
      {help !== undefined && (
        <p id={helpId} className="field-help">
          {help}
        </p>
      )}
      {error !== undefined && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function TextField({
  label,
  help,
  error,
  id,
  ...rest
}: FieldFrame & Omit<ComponentProps<'input'>, 'id'> & { id?: string }) {
  const generated = useId();
  const fieldId = id ?? generated;
  return (
    <Frame id={fieldId} label={label} help={help} error={error}>
      {(described) => (
        <input
          id={fieldId}
          aria-describedby={described}
          aria-invalid={error !== undefined || undefined}
          {...rest}
        />
      )}
    </Frame>
  );
}

export function TextArea({
  label,
  help,
  error,
  id,
  ...rest
}: FieldFrame & Omit<ComponentProps<'textarea'>, 'id'> & { id?: string }) {
  const generated = useId();
  const fieldId = id ?? generated;
  return (
    <Frame id={fieldId} label={label} help={help} error={error}>
      {(described) => (
        <textarea
          id={fieldId}
          aria-describedby={described}
          aria-invalid={error !== undefined || undefined}
          {...rest}
        />
      )}
    </Frame>
  );
}

export function SelectField({
  label,
  help,
  error,
  id,
  children,
  ...rest
}: FieldFrame & Omit<ComponentProps<'select'>, 'id'> & { id?: string }) {
  const generated = useId();
  const fieldId = id ?? generated;
  return (
    <Frame id={fieldId} label={label} help={help} error={error}>
      {(described) => (
        <select
          id={fieldId}
          aria-describedby={described}
          aria-invalid={error !== undefined || undefined}
          {...rest}
        >
          {children}
        </select>
      )}
    </Frame>
  );
}

/** A number input; empty is `undefined` (for optional numbers). */
export function NumberField({
  label,
  value,
  error,
  step,
  onChange,
}: {
  label: string;
  value: number | undefined;
  error: string | undefined;
  step?: number;
  onChange: (value: number | undefined) => void;
}) {
  return (
    <TextField
      label={label}
      type="number"
      step={step ?? 1}
      value={value ?? ''}
      error={error}
      onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
    />
  );
}
