import type { Sealer } from './crypto.ts';

// Re-encrypt every sealed column with the active master key, without
// downtime: old key versions stay configured while this runs, so readers
// open either version; each row is re-sealed and written back with a
// compare-and-set on its old ciphertext and key version, so a concurrent
// writer (who seals with the active key anyway) always wins. Rows that do
// not open (tampered, unknown version) are reported and left as they are.
// Web-standard only: runs in the Worker and in Node (`./dev rotate-keys`).

export interface SqlClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

export interface SealedColumn {
  readonly table: string;
  readonly ciphertext: string;
  readonly nonce: string;
  readonly version: string;
}

/** Every sealed column in the schema; the row id is the sealing context of each. */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: 'connections',
    ciphertext: 'credential_ciphertext',
    nonce: 'credential_nonce',
    version: 'credential_key_version',
  },
  {
    table: 'signing_keys',
    ciphertext: 'private_key_ciphertext',
    nonce: 'private_key_nonce',
    version: 'private_key_key_version',
  },
  {
    table: 'sandbox_secrets',
    ciphertext: 'ciphertext',
    nonce: 'nonce',
    version: 'key_version',
  },
  {
    table: 'triggers',
    ciphertext: 'secret_ciphertext',
    nonce: 'secret_nonce',
    version: 'secret_key_version',
  },
  {
    // A rotated-out webhook secret, still verifying during its grace period.
    table: 'triggers',
    ciphertext: 'previous_secret_ciphertext',
    nonce: 'previous_secret_nonce',
    version: 'previous_secret_key_version',
  },
];

export interface RotationReport {
  readonly activeVersion: number;
  /** Rows re-sealed, per table. */
  readonly rotated: Record<string, number>;
  /** Rows a concurrent writer changed first (already current). */
  readonly raced: number;
  readonly failures: readonly { table: string; id: string; reason: string }[];
}

interface Row {
  id: string;
  ciphertext: string;
  nonce: string;
  version: number;
}

export async function rotateKeys(
  sql: SqlClient,
  sealer: Sealer,
  options: { batchSize?: number; orgIds?: readonly string[]; log?: (line: string) => void } = {},
): Promise<RotationReport> {
  const batch = options.batchSize ?? 100;
  const active = sealer.activeVersion;
  const rotated: Record<string, number> = {};
  const failures: { table: string; id: string; reason: string }[] = [];
  let raced = 0;
  for (const col of SEALED_COLUMNS) {
    rotated[col.table] ??= 0;
    const skip = new Set<string>();
    let after = '';
    for (;;) {
      const params: unknown[] = [active, after, batch];
      const scoped = options.orgIds === undefined ? '' : ` and org_id = any($4)`;
      if (options.orgIds !== undefined) params.push([...options.orgIds]);
      const { rows } = await sql.query(
        `select id, ${col.ciphertext} as ciphertext, ${col.nonce} as nonce, ${col.version} as version
           from ${col.table}
          where ${col.version} is not null and ${col.version} <> $1 and id > $2${scoped}
          order by id limit $3`,
        params,
      );
      if (rows.length === 0) break;
      for (const row of rows as Row[]) {
        after = row.id;
        if (skip.has(row.id)) continue;
        let next: Awaited<ReturnType<Sealer['reseal']>>;
        try {
          next = await sealer.reseal(
            { ciphertext: row.ciphertext, nonce: row.nonce, keyVersion: row.version },
            row.id,
          );
        } catch (error) {
          failures.push({
            table: col.table,
            id: row.id,
            reason: error instanceof Error ? error.message : String(error),
          });
          skip.add(row.id);
          continue;
        }
        const result = await sql.query(
          `update ${col.table} set ${col.ciphertext} = $1, ${col.nonce} = $2, ${col.version} = $3
            where id = $4 and ${col.version} = $5 and ${col.ciphertext} = $6`,
          [next.ciphertext, next.nonce, next.keyVersion, row.id, row.version, row.ciphertext],
        );
        if (result.rowCount === 1) rotated[col.table] = (rotated[col.table] ?? 0) + 1;
        else raced++;
      }
      options.log?.(`${col.table}: ${rotated[col.table]} re-sealed so far`);
    }
  }
  return { activeVersion: active, rotated, raced, failures };
}
