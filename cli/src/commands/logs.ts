import { SessionEventList, SnapshotLogPage, ViewerCloseCode } from '@airlock/schema/api';
import { ApiError } from '../api-client.ts';
import type { Context } from '../context.ts';
import { CliError, printable, when } from '../output.ts';
import { TerminalViewer } from '../terminal/viewer.ts';
import { terminalName } from './attach.ts';

// `airlock logs SNAPSHOT|SESSION [--follow]`: a snapshot's build log through
// its cursor; a session's terminal output (the agent's by default) as a
// read-only viewer — the scrollback, then with --follow everything after it
// until the process exits or the session ends. An ended session's terminals
// are closed; its lifecycle history is shown instead.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function logs(
  ctx: Context,
  id: string,
  options: { follow?: boolean; terminal: string },
): Promise<void> {
  if (id.startsWith('snp_')) return snapshotLogs(ctx, id, options.follow === true);
  if (id.startsWith('ses_'))
    return sessionLogs(ctx, id, options.follow === true, terminalName(options.terminal));
  throw new CliError(`Expected a session (ses_…) or snapshot (snp_…) id, got "${id}".`, 2);
}

async function snapshotLogs(ctx: Context, id: string, follow: boolean): Promise<void> {
  const path = `/orgs/${await ctx.orgId()}/snapshots/${encodeURIComponent(id)}/logs`;
  let after = 0;
  for (;;) {
    const page = await ctx.api.request('GET', path, SnapshotLogPage, { query: { after, limit: 1000 } });
    for (const line of page.lines)
      if (ctx.out.json) ctx.out.write(`${JSON.stringify(line)}\n`);
      else ctx.out.write(line.text.endsWith('\n') ? line.text : `${line.text}\n`);
    after = page.nextAfter;
    if (page.done || (!follow && page.lines.length < 1000)) return;
    if (page.lines.length < 1000) await sleep(1000);
  }
}

async function sessionLogs(ctx: Context, id: string, follow: boolean, terminal: string): Promise<void> {
  await ctx.orgId();
  let replay = -1;
  let seen = 0;
  let exited = '';
  const emit = (bytes: Buffer) => {
    if (ctx.out.json) ctx.out.write(`${JSON.stringify({ terminal, text: bytes.toString('utf8') })}\n`);
    else ctx.out.write(bytes);
  };
  let closed: (why: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    closed = resolve;
  });
  // Built before any message can arrive: the scrollback may come in the same tick as the upgrade.
  const viewer: TerminalViewer = new TerminalViewer(
    { url: ctx.api.url, sessionId: id, terminal, readOnly: true, headers: ctx.api.authHeaders() },
    {
      attached: (m) => {
        replay = m.replay;
        if (!follow && replay === 0) viewer.close();
      },
      output: (bytes) => {
        emit(bytes);
        seen += bytes.length;
        if (!follow && replay >= 0 && seen >= replay) viewer.close();
      },
      control: (m) => {
        if (m.type !== 'exit') return;
        exited = `the process exited (code ${m.code})`;
        viewer.close();
      },
      closed: (code, reason) =>
        closed(exited || (code === ViewerCloseCode.SESSION_ENDED ? reason || 'the session has ended' : '')),
    },
  );
  try {
    await viewer.opened;
    const why = await ended;
    if (why !== '' && !ctx.out.json) ctx.out.note(printable(why));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    // The terminals close with the session; what is left is its history.
    const events = await ctx.api.request(
      'GET',
      `/orgs/${await ctx.orgId()}/sessions/${encodeURIComponent(id)}/events`,
      SessionEventList,
    );
    if (ctx.out.json) return ctx.out.data(events);
    ctx.out.note(`${printable(error.message)} Its history:`);
    for (const e of events.items)
      ctx.out.write(
        `${when(e.at)}  ${e.fromStatus ?? '∅'} → ${e.toStatus}${e.reason === null ? '' : `: ${printable(e.reason)}`}\n`,
      );
  }
}
