import type { Config } from '@airlock/config';
import { sandboxSecrets } from '@airlock/schema/db';
import type { RuntimePlan } from '@airlock/schema/plan';
import { and, eq, inArray } from 'drizzle-orm';
import { Sealer } from '../lib/crypto.ts';
import type { Database } from '../lib/db.ts';

// The one place a secret-in-the-sandbox is opened (ADR 0152): when one of a
// session's processes starts (the agent's terminal, a shell, a headless run),
// for that start only. The values go to the gateway call that starts the
// process and from there over the tunnel; they are never returned from a
// workflow step, stored, or logged.

export class SecretsUnavailable extends Error {
  override readonly name = 'SecretsUnavailable';
}

export async function openSecretsInSandbox(
  db: Database,
  config: Config,
  orgId: string,
  plan: RuntimePlan,
): Promise<Record<string, string>> {
  const refs = plan.secretsInSandbox ?? [];
  if (refs.length === 0) return {};
  const rows = await db
    .select()
    .from(sandboxSecrets)
    .where(
      and(
        eq(sandboxSecrets.orgId, orgId),
        inArray(
          sandboxSecrets.id,
          refs.map((r) => r.secretId),
        ),
      ),
    );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sealer = new Sealer(config.integrations);
  const env: Record<string, string> = {};
  for (const ref of refs) {
    const row = byId.get(ref.secretId);
    if (row === undefined) throw new SecretsUnavailable(`the stored value of ${ref.name} is gone`);
    env[ref.name] = await sealer.open(row, row.id);
  }
  return env;
}

/** Output that may have printed a secret-in-the-sandbox, with each value replaced by its name. */
export function redactSecrets(text: string, secrets: Readonly<Record<string, string>>): string {
  let out = text;
  for (const [name, value] of Object.entries(secrets))
    if (value.length >= 4) out = out.split(value).join(`[secret ${name}]`);
  return out;
}
