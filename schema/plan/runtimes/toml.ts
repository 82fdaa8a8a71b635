// The little TOML Codex's config needs, written out: string, boolean and
// number values in tables with bare or quoted keys. schema/ imports no
// library, and this subset is small enough to read in one sitting.

export type TomlValue = string | boolean | number;
export type TomlTable = { readonly [key: string]: TomlValue | TomlTable };

const BARE = /^[A-Za-z0-9_-]+$/;

/** A key as TOML spells it: bare when it can be, else a basic string (JSON escapes are TOML's). */
export const tomlKey = (key: string) => (BARE.test(key) ? key : JSON.stringify(key));

function value(v: TomlValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error('TOML numbers must be finite');
  return String(v);
}

/** Root keys first, then each sub-table under its dotted header (TOML's order rule). */
export function toToml(table: TomlTable, path: readonly string[] = []): string {
  const lines: string[] = [];
  const tables: Array<[string, TomlTable]> = [];
  for (const [key, v] of Object.entries(table)) {
    if (typeof v === 'object') tables.push([key, v]);
    else lines.push(`${tomlKey(key)} = ${value(v)}`);
  }
  const out: string[] = [];
  if (lines.length > 0) out.push(`${lines.join('\n')}\n`);
  for (const [key, sub] of tables) {
    const header = [...path, key].map(tomlKey).join('.');
    const body = toToml(sub, [...path, key]);
    const hasValues = Object.values(sub).some((v) => typeof v !== 'object');
    out.push(hasValues ? `[${header}]\n${body}` : body);
  }
  return out.join('\n');
}
