import type { TriggerEvent } from '../event.ts';

// A schedule tick as an event: the tick's time (UTC and in the trigger's zone)
// for the template, `schedule:<tick>` as its delivery id.

export function scheduleEvent(tick: Date, cron: string, timezone: string): TriggerEvent {
  const local = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    dateStyle: 'short',
    timeStyle: 'short',
    hourCycle: 'h23',
  }).format(tick);
  return {
    source: 'schedule',
    name: 'schedule',
    summary: `schedule tick ${tick.toISOString()} (${cron}, ${timezone})`,
    repository: null,
    labels: [],
    addedLabel: null,
    branch: null,
    text: null,
    actor: null,
    fromBot: false,
    target: null,
    slack: null,
    vars: { schedule: { time: tick.toISOString(), local, cron, timezone } },
  };
}

export const tickDeliveryId = (tick: Date) => `schedule:${tick.toISOString()}`;
