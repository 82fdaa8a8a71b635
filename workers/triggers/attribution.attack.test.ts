import { memberships, users } from '@airlock/schema/db';
import { newId } from '@airlock/schema/ids';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Harness } from '../control-plane/testing/harness.ts';
import { createWorld, type World } from '../control-plane/testing/world.ts';
import { attribute } from './attribution.ts';
import type { TriggerEvent } from './event.ts';

// Slack users who are not (or only claim to be) members of the org: a session
// they start is attributed to the trigger's owner, and the note says why. Only
// a confirmed Slack email that belongs to a member makes it that member's.
// Emails come from Slack's users.info through the org's Slack connection (the
// Slack stand-in), the bot token resolved by the broker.

const h = new Harness();
let w: World;
let connectionId = '';
const standIns = inject('controlPlaneStandIns');
const owner = () => w.people.owner.userId;
const members: Record<string, string> = {};

beforeAll(async () => {
  w = await createWorld(h);
  const db = h.db();
  // Members whose addresses are Vera's confirmed Slack email and Mallory's unconfirmed one.
  for (const email of ['vera@world.test', 'mallory@world.test']) {
    await db
      .insert(users)
      .values({ id: newId('user'), email })
      .onConflictDoNothing();
    const [user] = await db.select().from(users).where(eq(users.email, email));
    const userId = user?.id ?? '';
    members[email] = userId;
    await db.insert(memberships).values({ id: newId('membership'), orgId: w.orgId, userId, role: 'member' });
  }
  const created = await h.call<{ id: string }>('POST', `/orgs/${w.orgId}/connections`, {
    cookie: w.people.owner.cookie,
    body: {
      integration: 'slack',
      name: 'Slack',
      config: { base_url: standIns.slackUrl },
      credentials: { bot_token: h.secret(standIns.slackToken) },
    },
  });
  expect(created.status, created.text).toBe(201);
  connectionId = created.json.id;
});
afterAll(async () => {
  expect(h.leaks()).toEqual([]);
  await h.close();
});

const event = (user: string): TriggerEvent => ({
  source: 'slack',
  name: 'app_mention',
  summary: 's',
  repository: null,
  labels: [],
  addedLabel: null,
  branch: null,
  text: 'do it',
  actor: user,
  fromBot: false,
  target: null,
  slack: { team: 'T1', user, channel: 'C0123456', channelType: null, ts: '1.000001', threadTs: null },
  vars: {},
});

const run = (user: string) =>
  attribute({ env: h.env, db: h.db() }, { orgId: w.orgId, createdBy: owner() }, event(user), connectionId);

describe('who a Slack-started session acts for', () => {
  it('is the member whose email Slack has confirmed', async () => {
    const vera = members['vera@world.test'];
    expect(await run('U0VERIFIED')).toEqual({
      userId: vera,
      note: `Slack user U0VERIFIED is member ${vera} by verified email vera@world.test`,
    });
  });

  it("is the trigger's owner for an unconfirmed email that claims a member's address", async () => {
    expect(members['mallory@world.test']).toMatch(/^usr_/);
    const who = await run('U0UNCONFIRMED');
    expect(who.userId).toBe(owner());
    expect(who.note).toBe(
      `Slack user U0UNCONFIRMED's email mallory@world.test is not confirmed; attributed to the trigger's owner ${owner()}`,
    );
  });

  it("is the trigger's owner for someone outside the org, or without a visible email, or unknown to Slack", async () => {
    expect(await run('U0OUTSIDER')).toEqual({
      userId: owner(),
      note: `Slack user U0OUTSIDER (olga@elsewhere.test) is not a member of this org; attributed to the trigger's owner ${owner()}`,
    });
    expect((await run('U0NOEMAIL')).note).toMatch(/has no email visible to the app/);
    expect((await run('U0NOBODY01')).note).toMatch(
      /could not be looked up \(Slack users.info said ok: false \(user_not_found\)\)/,
    );
  });
});
