import { join } from 'node:path';
import { loadNodeConfig } from '@airlock/config/node';
import pg from 'pg';
import { Sealer } from '../workers/lib/crypto.ts';
import { rotateKeys } from '../workers/lib/rotate-keys.ts';
import { devLayer, devSecrets } from './dev-config.ts';
import { STATE_DIR } from './paths.ts';
import { CliError } from './process.ts';
import { startPostgres } from './services/postgres.ts';

// `./dev rotate-keys`: re-encrypt every sealed column (connections, signing
// keys, trigger secrets) with integrations.active_master_key_version.
// Procedure (no downtime): add the new key next to the old one and make it
// active everywhere the Worker reads config, run this, then remove the old
// key once it reports nothing left. Against AIRLOCK_DATABASE_URL, or the
// embedded Postgres in .airlock/pg; keys from the usual config layers, e.g.
//   AIRLOCK_INTEGRATIONS_MASTER_KEYS_2=… AIRLOCK_INTEGRATIONS_ACTIVE_MASTER_KEY_VERSION=2 ./dev rotate-keys

export async function rotateKeysCommand(): Promise<void> {
  const secrets = devSecrets(STATE_DIR);
  const postgres = await startPostgres({
    externalUrl: process.env.AIRLOCK_DATABASE_URL,
    dataDir: join(STATE_DIR, 'pg'),
    password: secrets.postgresPassword,
  });
  const client = new pg.Client({ connectionString: postgres.url });
  try {
    // Only the integrations keys matter here; the other local addresses are placeholders.
    const local = 'http://127.0.0.1:1';
    const config = loadNodeConfig({
      base: [
        devLayer(
          {
            publicUrl: local,
            databaseUrl: postgres.url,
            wsProxy: '127.0.0.1:1/v1',
            kvRestUrl: local,
            mailEndpoint: local,
          },
          secrets,
        ),
      ],
      env: process.env,
    });
    await client.connect();
    const sealer = new Sealer(config.integrations);
    process.stdout.write(`rotate-keys: re-sealing with master key version ${sealer.activeVersion}\n`);
    const report = await rotateKeys(client, sealer, {
      log: (line) => process.stdout.write(`rotate-keys: ${line}\n`),
    });
    for (const [table, count] of Object.entries(report.rotated))
      process.stdout.write(`rotate-keys: ${table}: ${count} row(s) re-sealed\n`);
    if (report.raced > 0)
      process.stdout.write(
        `rotate-keys: ${report.raced} row(s) were rewritten concurrently (already current)\n`,
      );
    if (report.failures.length > 0) {
      for (const f of report.failures) process.stderr.write(`rotate-keys: ${f.table} ${f.id}: ${f.reason}\n`);
      throw new CliError(
        `${report.failures.length} row(s) could not be opened; they still use their old key version`,
      );
    }
    process.stdout.write(
      'rotate-keys: done; older master keys can be removed once every Worker reads the new active one\n',
    );
  } finally {
    await client.end().catch(() => {});
    await postgres.stop();
  }
}
