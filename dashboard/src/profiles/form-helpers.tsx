import { TextField } from '../ui/field.tsx';

// Small helpers of the draft editor's form.

export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** Sets an optional key, or removes it when empty (the API's strict objects reject ''). */
export function withOptional<T extends object, K extends keyof T>(
  object: T,
  key: K,
  value: T[K] | string | undefined,
): T {
  const { [key]: _, ...rest } = object;
  return (value === '' || value === undefined ? rest : { ...rest, [key]: value }) as T;
}

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
