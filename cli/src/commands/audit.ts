import { type AuditEvent, AuditPage, AuditQuery } from '@airlock/schema/api';
import type { Context } from '../context.ts';
import { CliError, when } from '../output.ts';

// `airlock audit --session … --host …`: the org's audit trail, newest first,
// filtered on the server; --limit pages through the cursor.

export interface AuditOptions {
  readonly session?: string;
  readonly host?: string;
  readonly decision?: string;
  readonly kind?: string;
  readonly action?: string;
  readonly user?: string;
  readonly connection?: string;
  readonly trigger?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit: number;
}

export async function audit(ctx: Context, options: AuditOptions): Promise<void> {
  // Checked here with the API's own schema, so a typo is a usage error naming the flag.
  const query = AuditQuery.safeParse({
    sessionId: options.session,
    host: options.host,
    decision: options.decision,
    kind: options.kind,
    action: options.action,
    userId: options.user,
    connectionId: options.connection,
    triggerId: options.trigger,
    from: options.from,
    to: options.to,
    limit: Math.min(options.limit, 200),
  });
  if (!query.success) {
    const flags: Record<string, string> = {
      sessionId: 'session',
      userId: 'user',
      connectionId: 'connection',
      triggerId: 'trigger',
    };
    const issue = query.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    throw new CliError(
      `--${Object.hasOwn(flags, key) ? flags[key] : key}: ${issue?.message ?? 'invalid'}`,
      2,
    );
  }
  const items: AuditEvent[] = [];
  let cursor: string | undefined;
  const path = `/orgs/${await ctx.orgId()}/audit`;
  while (items.length < options.limit) {
    const { limit, ...filters } = query.data;
    const page = await ctx.api.request('GET', path, AuditPage, {
      query: { ...filters, limit: Math.min(limit, options.limit - items.length), cursor },
    });
    items.push(...page.items);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  ctx.out.list(
    { items },
    items,
    [
      { header: 'AT', value: (e) => when(e.at) },
      { header: 'KIND', value: (e) => e.kind },
      { header: 'WHAT', value: (e) => e.decision ?? e.action },
      { header: 'METHOD', value: (e) => e.method },
      { header: 'HOST', value: (e) => e.host },
      { header: 'PATH', value: (e) => e.path },
      { header: 'STATUS', value: (e) => e.status },
      { header: 'SESSION', value: (e) => e.sessionId },
    ],
    'No audit events match.',
  );
}
