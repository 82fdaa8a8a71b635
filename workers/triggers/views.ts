import type { SessionTurn, Trigger, TriggerDelivery } from '@airlock/schema/api';
import { nextRuns } from '@airlock/schema/api';
import type { sessionTurns, triggerDeliveries, triggers } from '@airlock/schema/db';

// Triggers, deliveries and turns as the API shows them: never a secret, and
// with what the dashboard needs next to them — the webhook URL, how to set the
// sender up, the next runs of a schedule.

type TriggerRow = typeof triggers.$inferSelect;
type DeliveryRow = typeof triggerDeliveries.$inferSelect;
type TurnRow = typeof sessionTurns.$inferSelect;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function webhookUrl(row: Pick<TriggerRow, 'id' | 'kind'>, publicUrl: string): string | null {
  return row.kind === 'schedule' ? null : `${publicUrl.replace(/\/$/, '')}/hooks/${row.id}`;
}

/** Step-by-step setup for the trigger's sender. */
export function setupSteps(row: TriggerRow, url: string | null): string[] {
  const config = row.config as Record<string, unknown>;
  if (row.kind === 'schedule')
    return [
      `Runs on "${String(config.cron)}" in ${String(config.timezone)}; the next runs are listed with the trigger.`,
      'Use "send a test event" to run it once now.',
    ];
  if (row.kind === 'chat')
    return [
      'In your Slack app (api.slack.com/apps) → Event Subscriptions: enable events and set the Request URL to',
      `  ${url}`,
      'Subscribe to bot events app_mention, message.channels, message.groups and message.im.',
      'OAuth & Permissions: bot scopes app_mentions:read, channels:history, groups:history, im:history, chat:write, users:read, users:read.email; install the app and store its bot token in the Slack connection.',
      'Basic Information → Signing Secret is the secret this trigger verifies with (rotate it here when you regenerate it in Slack).',
      'Mention the app in a channel it was invited to, or send it a direct message; replies in the thread go to the same session.',
    ];
  switch (config.source) {
    case 'github':
      return config.secretFrom === 'connection'
        ? [
            'In the GitHub App settings → Webhook: set the URL to',
            `  ${url}`,
            "and the webhook secret to the one stored as the App connection's webhook_secret.",
            `Subscribe the App to the events this trigger listens to: ${(config.events as string[]).join(', ')}.`,
          ]
        : [
            'In the repository (or organization) → Settings → Webhooks → Add webhook:',
            `  Payload URL: ${url}`,
            '  Content type: application/json',
            '  Secret: the signing secret shown when the trigger was created (or rotated)',
            `  Events: ${(config.events as string[]).join(', ')}`,
            'GitHub sends a ping first; it appears in the delivery history as filtered.',
          ];
    case 'slack':
      return [
        'In your Slack app → Event Subscriptions: set the Request URL to',
        `  ${url}`,
        `and subscribe to: ${(config.events as string[]).join(', ')}. Slack's url_verification is answered automatically.`,
      ];
    default:
      return [
        `POST JSON to ${url}, signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature)`,
        'with the whsec_ secret shown when the trigger was created (or rotated). Any Standard Webhooks library signs and verifies.',
        'A `type` field in the body names the event for filters and templates; the whole body is {{ payload }}.',
      ];
  }
}

export function triggerOut(row: TriggerRow, publicUrl: string, now: Date): Trigger {
  const config = row.config as Record<string, unknown>;
  const url = webhookUrl(row, publicUrl);
  let runs: string[] | null = null;
  if (row.kind === 'schedule' && typeof config.cron === 'string' && typeof config.timezone === 'string') {
    try {
      runs = nextRuns(config.cron, config.timezone, 5, now).map((d) => d.toISOString());
    } catch {
      runs = [];
    }
  }
  return {
    id: row.id,
    profileId: row.profileId,
    kind: row.kind,
    name: row.name,
    enabled: row.enabled,
    config,
    webhookUrl: url,
    hasSigningSecret: row.secretCiphertext !== null,
    previousSecretValidUntil:
      row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now
        ? row.previousSecretExpiresAt.toISOString()
        : null,
    nextRuns: runs,
    setup: setupSteps(row, url),
    consecutiveFailures: row.consecutiveFailures,
    pausedReason: row.pausedReason,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastFiredAt: iso(row.lastFiredAt),
  };
}

export function deliveryOut(row: DeliveryRow): TriggerDelivery {
  return {
    id: row.id,
    triggerId: row.triggerId,
    source: row.source,
    deliveryId: row.deliveryId,
    status: row.status,
    event: row.event,
    summary: row.summary,
    reason: row.reason,
    renderedPrompt: row.renderedPrompt,
    sessionId: row.sessionId,
    turn: row.turn,
    duplicateOf: row.duplicateOf,
    redeliveryOf: row.redeliveryOf,
    attributedTo: row.attributedTo,
    attributionNote: row.attributionNote,
    reportStatus: row.reportStatus,
    reportDetail: row.reportDetail,
    reportedAt: iso(row.reportedAt),
    redeliverable: row.payload !== null,
    receivedAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function turnOut(row: TurnRow): SessionTurn {
  return {
    n: row.n,
    prompt: row.prompt,
    status: row.status,
    output: row.output,
    answer: row.answer,
    exitCode: row.exitCode,
    deliveryId: row.deliveryId,
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
  };
}
