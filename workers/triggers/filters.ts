import type { ChatConfig, WebhookConfig } from '@airlock/schema/api';
import type { TriggerEvent } from './event.ts';

// Whether a parsed event is one the trigger acts on, and if not, why (the
// reason is the delivery's `filtered: …`). Pure: the ingress applies it before
// anything is started, the preview shows it, a redelivery applies it again.

export type FilterVerdict =
  | {
      readonly pass: true;
      /** With a mention filter: the text after the @mention (else the message itself, for chat). */
      readonly instruction: string | null;
    }
  | { readonly pass: false; readonly reason: string };

const reject = (reason: string): FilterVerdict => ({ pass: false, reason });

/** `issues` matches every `issues.*`; `issues.labeled` only itself; `*` everything. */
export function eventMatches(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => p === '*' || p === name || name.startsWith(`${p}.`));
}

/** `*` matches any run of characters (slashes too). Two-pointer matching: no regex, no blow-up. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

export function branchMatches(patterns: readonly string[], branch: string): boolean {
  return patterns.some((pattern) => globMatches(pattern, branch));
}

/** The text after `@login` (word-bounded, case-insensitive), or null when it is not mentioned. */
export function mentionInstruction(text: string, login: string): string | null {
  const escaped = login.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`(^|[^A-Za-z0-9_/-])@${escaped}(?![A-Za-z0-9_-])`, 'i').exec(text);
  if (match === null) return null;
  const after = text.slice(match.index + match[0].length).trim();
  return after === '' ? text.trim() : after;
}

export function webhookFilter(config: WebhookConfig, event: TriggerEvent): FilterVerdict {
  if (!eventMatches(config.events, event.name))
    return reject(`event ${event.name} is not one of ${config.events.join(', ')}`);
  // A bot's comment (our own report among them) must never start another run.
  if (event.fromBot) return reject(`sent by a bot (${event.actor ?? 'unknown'})`);
  if (config.repositories.length > 0) {
    const wanted = config.repositories.map((r) => r.toLowerCase());
    if (event.repository === null || !wanted.includes(event.repository.toLowerCase()))
      return reject(
        `repository ${event.repository ?? '(none)'} is not one of ${config.repositories.join(', ')}`,
      );
  }
  if (config.labels.length > 0) {
    if (event.addedLabel !== null) {
      if (!config.labels.includes(event.addedLabel))
        return reject(`label ${event.addedLabel} is not one of ${config.labels.join(', ')}`);
    } else if (!event.labels.some((l) => config.labels.includes(l)))
      return reject(`none of the labels ${config.labels.join(', ')} is set`);
  }
  if (config.branches.length > 0 && (event.branch === null || !branchMatches(config.branches, event.branch)))
    return reject(`branch ${event.branch ?? '(none)'} does not match ${config.branches.join(', ')}`);
  if (config.mention !== undefined) {
    const instruction = event.text === null ? null : mentionInstruction(event.text, config.mention);
    if (instruction === null) return reject(`@${config.mention} is not mentioned`);
    return { pass: true, instruction };
  }
  return { pass: true, instruction: null };
}

export function chatFilter(config: ChatConfig, event: TriggerEvent): FilterVerdict {
  const slack = event.slack;
  if (slack === null || (event.name !== 'app_mention' && !event.name.startsWith('message')))
    return reject(`event ${event.name} does not start or continue a conversation`);
  if (event.fromBot) return reject('a bot message, an edit or a system message');
  const direct = slack.channelType === 'im';
  if (config.channel !== undefined && !direct && slack.channel !== config.channel)
    return reject(`channel ${slack.channel} is not ${config.channel}`);
  // A top-level channel message reaches the app only as `message.channels` when it does not
  // mention it (a mention comes as app_mention): not for us. Thread replies may continue one.
  if (event.name.startsWith('message') && !direct && slack.threadTs === null)
    return reject('a channel message that does not mention the app');
  if ((event.text ?? '') === '') return reject('an empty message');
  return { pass: true, instruction: event.text };
}
