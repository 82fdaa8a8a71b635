import { Cron } from 'croner';

// Schedules: five-field cron expressions (minute hour day-of-month month
// day-of-week, with names, ranges, steps, lists, `L`, `#` and nicknames such as
// `@daily`) read in an IANA time zone. Parsing and evaluation are croner's —
// a well-kept library that handles DST gaps and repeats — so the API, the
// dashboard and the scheduler agree on every run time.

export class CronError extends Error {
  override readonly name = 'CronError';
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The schedule as croner reads it; throws CronError with croner's reason (without its prefix). */
export function parseSchedule(expression: string, timezone = 'UTC'): Cron {
  if (expression.length > 200) throw new CronError('expected at most 200 characters');
  let cron: Cron;
  try {
    // `domAndDow: false`: cron's classic OR when both day fields are restricted.
    cron = new Cron(expression.trim(), { timezone, mode: '5-part', domAndDow: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CronError(message.replace(/^Cron(Pattern|Date): /, ''));
  }
  return cron;
}

/** The next `count` run times strictly after `from` (fewer if the expression stops matching). */
export function nextRuns(expression: string, timezone: string, count: number, from: Date): Date[] {
  return parseSchedule(expression, timezone).nextRuns(count, from);
}

/** The latest run time at or before `at`, or null if there was none. */
export function latestRun(expression: string, timezone: string, at: Date): Date | null {
  // previousRuns looks strictly before its reference: one millisecond on includes `at` itself.
  return parseSchedule(expression, timezone).previousRuns(1, new Date(at.getTime() + 1))[0] ?? null;
}

/** A problem with the schedule for a validation message, or null when it is usable. */
export function scheduleProblem(expression: string, timezone: string): string | null {
  try {
    const next = parseSchedule(expression, timezone).nextRun(new Date());
    return next === null ? 'the expression never fires' : null;
  } catch (error) {
    return error instanceof CronError ? error.message : 'invalid cron expression';
  }
}
