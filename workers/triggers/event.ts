import { z } from 'zod';

// What every source's payload becomes once parsed: one shape the filters, the
// template and the report read, and the only form of the event that is kept
// (in `trigger_deliveries.payload`, for the history and for redelivery).
// Strings from senders are bounded here, once.

export const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
export const SLACK_TS = /^\d{1,12}\.\d{1,9}$/;
export const SLACK_ID = /^[A-Z0-9]{2,32}$/;

/** Text from a sender, cut to `max` characters (an issue body can be 64 KiB; a prompt need not be). */
export const clipped = (max: number) =>
  z.string().transform((s) => (s.length > max ? `${s.slice(0, max)}…` : s));

/** Where the result of a run goes back to. */
export const ReportTarget = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('github_issue'),
    repository: z.string().regex(REPOSITORY),
    /** Issue or pull request number (PRs are issues for comments). */
    number: z.number().int().positive(),
  }),
  z.strictObject({
    kind: z.literal('github_commit'),
    repository: z.string().regex(REPOSITORY),
    sha: z.string().regex(/^[0-9a-f]{40}$/),
  }),
  z.strictObject({
    kind: z.literal('slack_thread'),
    channel: z.string().regex(SLACK_ID),
    threadTs: z.string().regex(SLACK_TS),
  }),
]);
export type ReportTarget = z.infer<typeof ReportTarget>;

export const SlackMessage = z.strictObject({
  team: z.string().max(32).nullable(),
  user: z.string().regex(SLACK_ID),
  channel: z.string().regex(SLACK_ID),
  channelType: z.string().max(20).nullable(),
  ts: z.string().regex(SLACK_TS),
  /** The thread the message is in (null for a top-level message: it starts its own thread). */
  threadTs: z.string().regex(SLACK_TS).nullable(),
});
export type SlackMessage = z.infer<typeof SlackMessage>;

export const TriggerEvent = z.strictObject({
  source: z.enum(['github', 'slack', 'generic', 'schedule']),
  /** `issues.labeled`, `push`, `app_mention`, `message.im`, `schedule`, … */
  name: z.string().min(1).max(100),
  /** One line for the delivery history. */
  summary: z.string().max(300),
  repository: z.string().regex(REPOSITORY).nullable(),
  /** Labels the issue or PR carries. */
  labels: z.array(z.string().max(100)).max(100),
  /** The label a `labeled` action just added. */
  addedLabel: z.string().max(100).nullable(),
  /** Pushed branch, a PR's base branch, a check suite's head branch. */
  branch: z.string().max(255).nullable(),
  /** The human text a mention filter looks at: a comment, an issue or PR body, a chat message. */
  text: z.string().max(40_000).nullable(),
  /** Who caused it: a GitHub login, a Slack user id. */
  actor: z.string().max(100).nullable(),
  /** Set when the sender is a bot (GitHub `[bot]` accounts, Slack bot messages): never a new turn. */
  fromBot: z.boolean(),
  target: ReportTarget.nullable(),
  slack: SlackMessage.nullable(),
  /** Template variables particular to the source (issue, pull_request, comment, payload, schedule…). */
  vars: z.record(z.string(), z.unknown()),
});
export type TriggerEvent = z.infer<typeof TriggerEvent>;

/** Either an event, or why the payload was not one (answered 400, recorded without the body). */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

/** zod issues as one short, value-free line. */
export function issuesLine(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
