import { nextOccurrence, parseSchedule, ScheduleError } from '../../../shared/hosting/ncrontab';

const at = (iso: string) => new Date(iso);
const next = (expression: string, after: string) =>
  nextOccurrence(parseSchedule(expression), at(after))?.toISOString();

describe('NCRONTAB schedules', () => {
  it('parses *, values, lists, ranges, steps and names', () => {
    const schedule = parseSchedule('*/15 0,30 9-17 1-10/3 JAN,jun-Aug MON-FRI');
    expect([...schedule.seconds]).toEqual([0, 15, 30, 45]);
    expect([...schedule.minutes]).toEqual([0, 30]);
    expect([...schedule.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...schedule.days]).toEqual([1, 4, 7, 10]);
    expect([...schedule.months]).toEqual([1, 6, 7, 8]);
    expect([...schedule.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
    expect([...parseSchedule('5/20 * * * * *').seconds]).toEqual([5, 25, 45]);
  });

  it('finds the next occurrence strictly after a time, in UTC', () => {
    expect(next('*/5 * * * * *', '2026-03-01T10:00:00.000Z')).toBe('2026-03-01T10:00:05.000Z');
    expect(next('*/5 * * * * *', '2026-03-01T10:00:03.400Z')).toBe('2026-03-01T10:00:05.000Z');
    expect(next('0 */5 * * * *', '2026-03-01T10:58:00Z')).toBe('2026-03-01T11:00:00.000Z');
    expect(next('0 30 9 * * *', '2026-03-01T09:30:00Z')).toBe('2026-03-02T09:30:00.000Z');
    expect(next('0 0 0 1 1 *', '2026-06-15T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    // 2026-03-02 is a Monday.
    expect(next('0 0 9 * * MON', '2026-03-02T09:00:00Z')).toBe('2026-03-09T09:00:00.000Z');
    expect(next('0 0 0 29 FEB *', '2026-01-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('requires both day-of-month and day-of-week to match, as NCrontab does', () => {
    // The first Friday the 13th after 2026-03-14 is 2026-11-13.
    expect(next('0 0 0 13 * FRI', '2026-03-14T00:00:00Z')).toBe('2026-11-13T00:00:00.000Z');
  });

  it('returns undefined for a date that never comes', () => {
    expect(next('0 0 0 30 FEB *', '2026-01-01T00:00:00Z')).toBeUndefined();
  });

  it.each([
    ['* * * * *', /expected 6 fields/],
    ['60 * * * * *', /second field: 60 is outside 0-59/],
    ['* * 24 * * *', /hour field: 24/],
    ['* * * 0 * *', /day field: 0 is outside 1-31/],
    ['* * * * 13 *', /month field/],
    ['* * * * * 7', /day-of-week field/],
    ['*/0 * * * * *', /step '0'/],
    ['5-1 * * * * *', /runs backwards/],
    ['a * * * * *', /'a' is not a number/],
    ['1,,2 * * * * *', /empty list item/],
  ])('rejects %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleError);
    expect(() => parseSchedule(expression)).toThrow(message);
  });
});
