/**
 * NCRONTAB schedules as the Functions timer trigger reads them: six fields,
 * `{second} {minute} {hour} {day} {month} {day-of-week}`, each `*`, a value, a range `a-b`, a step
 * `*\/n` or `a-b/n` or `a/n`, or a comma list of those; months and days of week also by English
 * three-letter name. Evaluated in UTC (the Functions default without WEBSITE_TIME_ZONE).
 * Like NCrontab (and unlike Vixie cron), a time must match BOTH day-of-month and day-of-week.
 */

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const fields: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface Schedule {
  readonly expression: string;
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
}

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  const byName = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (byName >= 0) return byName + spec.min;
  if (!/^\d+$/.test(text)) {
    throw new ScheduleError(`schedule '${expression}': ${spec.name} field: '${text}' is not a number`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new ScheduleError(
      `schedule '${expression}': ${spec.name} field: ${value} is outside ${spec.min}-${spec.max}`,
    );
  }
  return value;
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw new ScheduleError(`schedule '${expression}': ${spec.name} field: empty list item`);
    const [range = '', stepText, extra] = part.split('/');
    if (extra !== undefined)
      throw new ScheduleError(`schedule '${expression}': ${spec.name} field: '${part}'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new ScheduleError(
          `schedule '${expression}': ${spec.name} field: step '${stepText}' must be a positive number`,
        );
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
    } else if (range.includes('-')) {
      const [low = '', high = ''] = range.split('-');
      from = parseValue(low, spec, expression);
      to = parseValue(high, spec, expression);
      if (from > to) {
        throw new ScheduleError(
          `schedule '${expression}': ${spec.name} field: range '${range}' runs backwards`,
        );
      }
    } else {
      from = parseValue(range, spec, expression);
      // `a/n` means from a to the end of the field in steps of n, as in NCrontab.
      to = stepText !== undefined ? spec.max : from;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

export function parseSchedule(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(
      `schedule '${expression}': expected 6 fields ({second} {minute} {hour} {day} {month} {day-of-week}), got ${parts.length}`,
    );
  }
  const [seconds, minutes, hours, days, months, daysOfWeek] = fields.map((spec, i) =>
    parseField(parts[i] ?? '', spec, expression),
  );
  return {
    expression,
    seconds: seconds!,
    minutes: minutes!,
    hours: hours!,
    days: days!,
    months: months!,
    daysOfWeek: daysOfWeek!,
  };
}

/** Searching further than this many years means the schedule names a date that never comes (Feb 30). */
const SEARCH_YEARS = 5;

/** The first time strictly after `after` (whole seconds, UTC) that the schedule matches, or undefined. */
export function nextOccurrence(schedule: Schedule, after: Date): Date | undefined {
  const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const limit = after.getTime() + SEARCH_YEARS * 366 * 24 * 3600 * 1000;
  while (t.getTime() <= limit) {
    if (!schedule.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!schedule.days.has(t.getUTCDate()) || !schedule.daysOfWeek.has(t.getUTCDay())) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!schedule.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!schedule.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    if (!schedule.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
      continue;
    }
    return t;
  }
  return undefined;
}
