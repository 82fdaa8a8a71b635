import { OpenedTerminal, TerminalName } from '@airlock/schema/api';
import { ApiError } from '../api-client.ts';
import type { Context } from '../context.ts';
import { CliError } from '../output.ts';
import { AttachSession } from '../terminal/attach-session.ts';
import { parseDetachKey } from '../terminal/local-terminal.ts';

// `airlock attach SESSION [--terminal shell]`: opens the shell next to the
// agent when asked for it (idempotent), then attaches this terminal to it.

export interface AttachOptions {
  readonly terminal: string;
  readonly readOnly?: boolean;
  readonly detachKey: string;
  readonly takeOver?: boolean;
}

export function terminalName(raw: string): string {
  const parsed = TerminalName.safeParse(raw);
  if (!parsed.success) throw new CliError(`--terminal: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 2);
  return parsed.data;
}

export async function attach(ctx: Context, sessionId: string, options: AttachOptions): Promise<number> {
  const detach = parseDetachKey(options.detachKey);
  const terminal = terminalName(options.terminal);
  if (ctx.out.json) throw new CliError('attach is interactive; --json does not apply to it.', 2);
  if (terminal !== 'agent' && options.readOnly !== true) {
    const { columns, rows } = process.stdout;
    // Someone who may only watch cannot open it (403); the attach below still lets them watch it.
    await ctx.api
      .request(
        'POST',
        `/orgs/${await ctx.orgId()}/sessions/${encodeURIComponent(sessionId)}/terminals`,
        OpenedTerminal,
        {
          body: {
            terminal,
            ...(columns && rows ? { cols: Math.min(columns, 1000), rows: Math.min(rows, 1000) } : {}),
          },
        },
      )
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && error.status === 403)) throw error;
      });
  }
  return new AttachSession({
    url: ctx.api.url,
    sessionId,
    terminal,
    readOnly: options.readOnly === true,
    headers: () => ctx.api.authHeaders(),
    detachByte: detach.byte,
    detachLabel: detach.label,
    takeOver: options.takeOver === true,
    tty: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  }).run();
}
