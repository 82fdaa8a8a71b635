import { randomUUID } from 'node:crypto';
import { Session } from '@airlock/schema/api';
import type { Context } from '../context.ts';
import { CliError } from '../output.ts';
import { findProfile, getSession } from './resources.ts';

// `airlock sessions start|stop`: start from a profile's latest published
// version (headless when given a prompt), and with --wait follow it with a
// progress line until it is running (interactive) or done (headless).

const ENDED = new Set(['stopped', 'failed']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  ctx: Context,
  id: string,
  done: (s: Session) => boolean,
  timeoutSeconds: number,
  label: string,
): Promise<Session> {
  const started = Date.now();
  const progress = ctx.out.progress(`${label} ${id}`);
  try {
    for (;;) {
      const session = await getSession(ctx, id);
      const seconds = Math.round((Date.now() - started) / 1000);
      progress.update(`${label} ${id}: ${session.status}`, `(${seconds} s)`);
      if (done(session) || ENDED.has(session.status)) return session;
      if (Date.now() - started > timeoutSeconds * 1000)
        throw new CliError(`Gave up waiting after ${timeoutSeconds} s; session ${id} is ${session.status}.`);
      await sleep(1000);
    }
  } finally {
    progress.stop();
  }
}

function printSession(ctx: Context, s: Session): void {
  if (ctx.out.json) ctx.out.data(s);
  else ctx.out.write(`${s.id}\n`);
}

export async function startSession(
  ctx: Context,
  options: { profile: string; prompt?: string; wait?: boolean; timeout: number },
): Promise<void> {
  const profile = await findProfile(ctx, options.profile);
  const headless = options.prompt !== undefined;
  const created = await ctx.api.request('POST', `/orgs/${await ctx.orgId()}/sessions`, Session, {
    body: {
      profileId: profile.id,
      mode: headless ? 'headless' : 'interactive',
      ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    },
    // A retried start (e.g. after a timeout) must not start a second session.
    headers: { 'idempotency-key': randomUUID() },
  });
  if (options.wait !== true) {
    if (!ctx.out.json)
      ctx.out.note(`Started ${created.id} (${created.status}); airlock sessions show ${created.id}`);
    printSession(ctx, created);
    return;
  }
  const session = await waitFor(
    ctx,
    created.id,
    (s) => (headless ? ENDED.has(s.status) : s.status === 'running'),
    options.timeout,
    headless ? 'Running' : 'Starting',
  );
  printSession(ctx, session);
  if (session.status === 'failed')
    throw new CliError(`Session ${session.id} failed: ${session.failureReason ?? 'no reason given'}`);
  if (!ctx.out.json)
    ctx.out.success(
      session.status === 'running'
        ? `${session.id} is running: airlock attach ${session.id}`
        : `${session.id} is ${session.status}`,
    );
}

export async function stopSession(
  ctx: Context,
  id: string,
  options: { wait?: boolean; timeout: number },
): Promise<void> {
  const stopping = await ctx.api.request(
    'POST',
    `/orgs/${await ctx.orgId()}/sessions/${encodeURIComponent(id)}/stop`,
    Session,
  );
  const session =
    options.wait === true
      ? await waitFor(ctx, id, (s) => ENDED.has(s.status), options.timeout, 'Stopping')
      : stopping;
  printSession(ctx, session);
  if (!ctx.out.json) ctx.out.success(`${id} is ${session.status}`);
}
