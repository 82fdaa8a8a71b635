// Five-field cron expressions (minute hour day-of-month month day-of-week),
// parsed into explicit value sets so a scheduler can test a minute cheaply.
// Supports `*`, `n`, `a-b`, `*/s`, `a-b/s`, lists, and JAN-DEC / SUN-SAT names.

export interface Cron {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: readonly number[];
  readonly months: readonly number[];
  /** 0-6, Sunday = 0 (7 is accepted as Sunday). */
  readonly weekdays: readonly number[];
  /** Whether day-of-month / day-of-week were `*` (cron's OR rule applies only when both are restricted). */
  readonly anyDay: boolean;
  readonly anyWeekday: boolean;
}

export class CronError extends Error {}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function value(text: string, field: FieldDef): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (field.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(text)) throw new CronError(`${field.name}: "${text}" is not a number`);
  const n = Number(text);
  if (n < field.min || n > field.max)
    throw new CronError(`${field.name}: ${n} is outside ${field.min}-${field.max}`);
  return n;
}

function parseField(text: string, field: FieldDef): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (stepText !== undefined && (!/^\d{1,2}$/.test(stepText) || step < 1))
      throw new CronError(`${field.name}: step "${stepText}" must be a positive number`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [field.min, field.max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [lo, hi] = [value(a, field), value(b, field)];
      if (lo > hi) throw new CronError(`${field.name}: range ${range} runs backwards`);
    } else {
      lo = value(range, field);
      hi = stepText === undefined ? lo : field.max;
    }
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(`expected 5 fields (minute hour day month weekday), got ${parts.length}`);
  const [minute = '', hour = '', day = '', month = '', weekday = ''] = parts;
  const [m, h, d, mo, w] = [minute, hour, day, month, weekday].map((p, i) =>
    parseField(p, FIELDS[i] as FieldDef),
  );
  return {
    minutes: m ?? [],
    hours: h ?? [],
    days: d ?? [],
    months: mo ?? [],
    weekdays: [...new Set((w ?? []).map((x) => x % 7))].sort((a, b) => a - b),
    anyDay: day === '*',
    anyWeekday: weekday === '*',
  };
}

export interface WallClock {
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
  readonly month: number;
  readonly weekday: number;
}

export function cronMatches(cron: Cron, at: WallClock): boolean {
  if (!cron.minutes.includes(at.minute) || !cron.hours.includes(at.hour) || !cron.months.includes(at.month))
    return false;
  const dayOk = cron.days.includes(at.day);
  const weekdayOk = cron.weekdays.includes(at.weekday);
  if (cron.anyDay && cron.anyWeekday) return true;
  if (cron.anyDay) return weekdayOk;
  if (cron.anyWeekday) return dayOk;
  return dayOk || weekdayOk;
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
