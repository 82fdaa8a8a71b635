import { can, type EnvVarInput, type Role } from '@airlock/schema/api';
import { type ProfileEnvVar, sandboxSecrets } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import type { Sealed, Sealer } from '../../lib/crypto.ts';
import type { Database } from '../../lib/db.ts';
import { ProblemError } from '../../lib/problem.ts';
import { validationProblem } from '../validation.ts';

// A draft's environment variables as a request sets them (ADR 0152). Plain
// values are stored as given (the profile checks refuse credential-shaped
// ones). A `secret_in_sandbox` value is sealed into a new sandbox_secrets row
// at once — the plaintext lives in this request only — and the variable
// keeps that row's id; without a value it keeps the draft's current secret of
// that name. Putting a secret inside a sandbox is an owner's or admin's call
// (the permission that manages connections, i.e. credentials), never a
// side effect of editing a draft.

export interface SealedSecret {
  readonly id: string;
  readonly name: string;
  readonly sealed: Sealed;
}

export interface ResolvedEnv {
  readonly vars: ProfileEnvVar[];
  /** New secrets to insert with the draft's update. */
  readonly secrets: SealedSecret[];
}

export async function resolveEnvVars(
  input: readonly EnvVarInput[],
  current: readonly ProfileEnvVar[],
  who: { readonly role: Role; readonly sealer: Sealer; readonly now: Date },
): Promise<ResolvedEnv> {
  const vars: ProfileEnvVar[] = [];
  const secrets: SealedSecret[] = [];
  const errors: { path: string; message: string; code: string }[] = [];
  const existing = new Map(
    current.flatMap((v) => (v.kind === 'secret_in_sandbox' ? [[v.name, v.secretId] as const] : [])),
  );
  for (const [i, v] of input.entries()) {
    if (v.kind === 'plain') {
      vars.push({ name: v.name, kind: 'plain', value: v.value });
      continue;
    }
    if (v.value === undefined) {
      const kept = existing.get(v.name);
      if (kept === undefined)
        errors.push({
          path: `envVars.${i}.value`,
          code: 'SECRET_VALUE_REQUIRED',
          message: `${v.name} has no stored value yet; send one`,
        });
      else vars.push({ name: v.name, kind: 'secret_in_sandbox', secretId: kept });
      continue;
    }
    if (!can(who.role, 'connections.manage'))
      throw new ProblemError(
        'forbidden',
        `Only owners and admins may put a secret inside the sandbox (${v.name}); ask one, or bind a connection so the gateway injects it.`,
      );
    const id = newId('sandboxSecret', who.now.getTime());
    secrets.push({ id, name: v.name, sealed: await who.sealer.seal(v.value, id) });
    vars.push({ name: v.name, kind: 'secret_in_sandbox', secretId: id });
  }
  if (errors.length > 0) throw validationProblem(errors);
  return { vars, secrets };
}

export async function insertSecrets(
  db: Pick<Database, 'insert'>,
  orgId: string,
  createdBy: string,
  secrets: readonly SealedSecret[],
  now: Date,
): Promise<void> {
  if (secrets.length === 0) return;
  await db.insert(sandboxSecrets).values(
    secrets.map((s) => ({
      id: s.id,
      orgId,
      ciphertext: s.sealed.ciphertext,
      nonce: s.sealed.nonce,
      keyVersion: s.sealed.keyVersion,
      createdBy,
      createdAt: now,
    })),
  );
}
