// Small helpers of the draft editor's form (its number field is the shared one in ui/field.tsx).

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
