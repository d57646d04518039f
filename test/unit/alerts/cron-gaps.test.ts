import { parseCron, tickGaps } from '../../../functions/alerts/cron-gaps';

const MIN = 60_000;

describe('tickGaps', () => {
  it.each([
    ['*/5 * * * *', 'Etc/UTC', 5 * MIN, 5 * MIN],
    ['2-59/5 * * * *', 'Etc/UTC', 5 * MIN, 5 * MIN],
    ['0 */4 * * *', 'Etc/UTC', 240 * MIN, 240 * MIN],
    ['5 */12 * * *', 'Etc/UTC', 720 * MIN, 720 * MIN],
    ['2,32 * * * *', 'Etc/UTC', 30 * MIN, 30 * MIN],
    ['*/15 * * * *', 'Etc/UTC', 15 * MIN, 15 * MIN],
    // A daily local-time job: 23 h and 25 h on the days the clocks change.
    ['0 18 * * *', 'Europe/Berlin', 23 * 60 * MIN, 25 * 60 * MIN],
    // 02:00 does not exist on the spring-forward day: that day has no tick at all.
    ['0 2 * * *', 'America/New_York', 24 * 60 * MIN, 47 * 60 * MIN],
    // 01:30 happens twice on the fall-back day.
    ['30 1 * * *', 'America/New_York', 60 * MIN, 24 * 60 * MIN],
    // First of the month: 28 to 31 days.
    ['0 0 1 * *', 'Etc/UTC', 28 * 24 * 60 * MIN, 31 * 24 * 60 * MIN],
  ])('%s in %s: gaps from %d to %d ms', (cron, zone, min, max) => {
    const gaps = tickGaps(cron, zone);
    expect(gaps.minGapMs).toBe(min);
    expect(gaps.maxGapMs).toBe(max);
  });

  it('applies the day-of-month OR day-of-week rule when both are restricted', () => {
    // The 1st of each month or every Sunday.
    const gaps = tickGaps('0 0 1 * 0', 'Etc/UTC');
    expect(gaps.maxGapMs).toBeLessThanOrEqual(7 * 24 * 60 * MIN);
    expect(gaps.minGapMs).toBeLessThan(7 * 24 * 60 * MIN);
  });

  it.each(['* * * *', '61 * * * *', '*/0 * * * *', '5-1 * * * *', '0 0 30 2 *'])('rejects %s', (cron) => {
    expect(() => tickGaps(cron, 'Etc/UTC')).toThrow();
  });

  it('reads month and weekday names', () => {
    const fields = parseCron('0 9 * JAN-MAR MON-FRI');
    expect(fields.months.slice(1, 5)).toEqual([true, true, true, false]);
    expect(fields.weekdays.slice(0, 7)).toEqual([false, true, true, true, true, true, false]);
  });
});
