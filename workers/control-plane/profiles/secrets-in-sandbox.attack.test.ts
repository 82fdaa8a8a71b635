import { auditEvents, profileVersions, sandboxSecrets } from '@airlock/schema/db';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '../../lib/crypto.ts';
import { Harness } from '../testing/harness.ts';
import { createWorld, type World } from '../testing/world.ts';

// Attacks on the "secret in the sandbox" kind of profile variable (ADR 0152):
// it must be impossible to use by accident, impossible for a member to use at
// all, and its value must never come back out of the API — not from the draft,
// the version list, the plan preview, the audit trail or an error — while at
// rest it is sealed like a connection credential.

const h = new Harness();
let w: World;
const ACK = 'readable-inside-the-sandbox';
beforeAll(async () => {
  w = await createWorld(h);
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

interface Version {
  id: string;
  envVars: Array<Record<string, unknown>>;
}

async function draftOf(name: string): Promise<{ base: string; draft: string; profileId: string }> {
  const profile = await h.call<{ id: string; draftVersionId: string }>('POST', `/orgs/${w.orgId}/profiles`, {
    cookie: w.people.admin.cookie,
    body: { name },
  });
  const base = `/orgs/${w.orgId}/profiles/${profile.json.id}`;
  await h.call('PATCH', `${base}/versions/${profile.json.draftVersionId}`, {
    cookie: w.people.admin.cookie,
    body: { modelConnectionId: w.connectionId },
  });
  return { base, draft: `${base}/versions/${profile.json.draftVersionId}`, profileId: profile.json.id };
}

describe('secrets in the sandbox', () => {
  it('cannot be set by accident: the kind alone, or any other acknowledgement, is refused', async () => {
    const { draft } = await draftOf('Accident');
    const value = h.secret('npm_accidentalSecret0123456789');
    for (const variable of [
      { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value },
      { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value, acknowledge: true },
      { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value, acknowledge: 'yes' },
    ]) {
      const reply = await h.call('PATCH', draft, {
        cookie: w.people.owner.cookie,
        body: { envVars: [variable] },
      });
      expect(reply.status, reply.text).toBe(422);
    }
    // Nor by sending it as a plain value.
    const plain = await h.call('PATCH', draft, {
      cookie: w.people.owner.cookie,
      body: { envVars: [{ name: 'NPM_TOKEN', kind: 'plain', value }] },
    });
    expect(plain.status).toBe(422);
    expect((await h.db().select().from(sandboxSecrets).where(eq(sandboxSecrets.orgId, w.orgId))).length).toBe(
      0,
    );
  });

  it('cannot be set by a member, who may still keep one an admin set', async () => {
    const { draft } = await draftOf('Members');
    const value = h.secret('npm_memberCannotSet0123456789');
    const refused = await h.call('PATCH', draft, {
      cookie: w.people.member.cookie,
      body: { envVars: [{ name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value, acknowledge: ACK }] },
    });
    expect(refused.status).toBe(403);
    const set = await h.call<Version>('PATCH', draft, {
      cookie: w.people.admin.cookie,
      body: { envVars: [{ name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value, acknowledge: ACK }] },
    });
    expect(set.status, set.text).toBe(200);
    const kept = await h.call<Version>('PATCH', draft, {
      cookie: w.people.member.cookie,
      body: {
        envVars: [
          { name: 'NPM_TOKEN', kind: 'secret_in_sandbox', acknowledge: ACK },
          { name: 'RUST_LOG', kind: 'plain', value: 'debug' },
        ],
      },
    });
    expect(kept.status, kept.text).toBe(200);
    expect(kept.json.envVars).toEqual([
      { name: 'NPM_TOKEN', kind: 'secret_in_sandbox' },
      { name: 'RUST_LOG', kind: 'plain', value: 'debug' },
    ]);
    // A name with nothing stored cannot be "kept" into existence.
    const nothing = await h.call<{ errors: { path: string }[] }>('PATCH', draft, {
      cookie: w.people.member.cookie,
      body: { envVars: [{ name: 'OTHER_TOKEN', kind: 'secret_in_sandbox', acknowledge: ACK }] },
    });
    expect(nothing.status).toBe(422);
    expect(nothing.json.errors[0]?.path).toBe('envVars.0.value');
  });

  it('never shows its value again, anywhere the API answers, and is sealed at rest', async () => {
    const { base, draft, profileId } = await draftOf('Shown');
    const value = h.secret('npm_neverShownAgain0123456789abc');
    const set = await h.call<Version>('PATCH', draft, {
      cookie: w.people.owner.cookie,
      body: { envVars: [{ name: 'NPM_TOKEN', kind: 'secret_in_sandbox', value, acknowledge: ACK }] },
    });
    expect(set.json.envVars).toEqual([{ name: 'NPM_TOKEN', kind: 'secret_in_sandbox' }]);
    // The client cannot name a stored secret itself (no id in the input): another org's, say.
    const smuggled = await h.call('PATCH', draft, {
      cookie: w.people.owner.cookie,
      body: {
        envVars: [
          {
            name: 'X_TOKEN',
            kind: 'secret_in_sandbox',
            secretId: 'sec_01JD0000000000000000000000',
            acknowledge: ACK,
          },
        ],
      },
    });
    expect(smuggled.status).toBe(422);
    const published = await h.call<{ published: Version }>('POST', `${draft}/publish`, {
      cookie: w.people.owner.cookie,
    });
    expect(published.status, published.text).toBe(201);
    for (const path of [draft, `${base}/versions`, `${base}/versions/${published.json.published.id}`])
      expect((await h.call('GET', path, { cookie: w.people.member.cookie })).status).toBe(200);
    const plan = await h.call<{ env: Record<string, string>; secretsInSandbox: { name: string }[] }>(
      'GET',
      `${base}/versions/${published.json.published.id}/plan`,
      { cookie: w.people.member.cookie },
    );
    expect(plan.json.env.NPM_TOKEN).toBeUndefined();
    expect(plan.json.secretsInSandbox.map((s) => s.name)).toEqual(['NPM_TOKEN']);
    const audit = await h
      .db()
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.orgId, w.orgId), eq(auditEvents.action, 'profile.secret_in_sandbox_set')));
    expect(audit.map((a) => [a.targetId, a.detail])).toContainEqual([
      profileId,
      expect.objectContaining({ name: 'NPM_TOKEN' }),
    ]);
    expect(
      (await h.call('GET', `/orgs/${w.orgId}/audit?limit=200`, { cookie: w.people.owner.cookie })).status,
    ).toBe(200);
    // At rest: sealed for its own row, like a connection credential.
    const [version] = await h
      .db()
      .select()
      .from(profileVersions)
      .where(eq(profileVersions.id, published.json.published.id));
    const ref = version?.envVars[0];
    expect(ref?.kind).toBe('secret_in_sandbox');
    const secretId = ref?.kind === 'secret_in_sandbox' ? ref.secretId : '';
    const [row] = await h.db().select().from(sandboxSecrets).where(eq(sandboxSecrets.id, secretId));
    expect(row?.orgId).toBe(w.orgId);
    expect(JSON.stringify(row)).not.toContain(value);
    const sealer = new Sealer(h.config.integrations);
    expect(await sealer.open(row ?? { ciphertext: '', nonce: '', keyVersion: 0 }, secretId)).toBe(value);
    await expect(
      sealer.open(row ?? { ciphertext: '', nonce: '', keyVersion: 0 }, 'sec_other'),
    ).rejects.toThrow();
    // The leak scan of every reply and log line runs in afterAll.
  });
});
