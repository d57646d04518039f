import { TickError, tickFromHeader } from '../../../functions/core/tick';

const now = new Date('2026-11-23T20:07:13.250Z');

describe('tickFromHeader', () => {
  test.each([
    ['2026-11-23T20:05:00Z', '2026-11-23T20:05:00.000Z'],
    ['2026-11-23T20:05:00.000Z', '2026-11-23T20:05:00.000Z'],
    ['2026-11-23T20:05:00.52Z', '2026-11-23T20:05:00.520Z'],
    ['2026-11-23T20:05:00.123456Z', '2026-11-23T20:05:00.123Z'],
    ['2026-11-23T21:05:00+01:00', '2026-11-23T20:05:00.000Z'],
    ['2026-11-23T15:05:00-05:00', '2026-11-23T20:05:00.000Z'],
    ['2026-11-23t20:05:00z', '2026-11-23T20:05:00.000Z'],
    ['  2026-11-23T20:05:00Z  ', '2026-11-23T20:05:00.000Z'],
  ])('%p names tick %p', (header, id) => {
    const tick = tickFromHeader(header, now);
    expect(tick).toEqual({ id, scheduledAt: new Date(id), manual: false });
  });

  it('gives every retry of a tick the same id, whatever the spelling', () => {
    const ids = new Set(
      ['2026-11-23T20:05:00Z', '2026-11-23T20:05:00.000Z', '2026-11-23T22:05:00+02:00'].map(
        (header) => tickFromHeader(header, now).id,
      ),
    );
    expect(ids.size).toBe(1);
  });

  test.each([
    ['yesterday'],
    ['1732392300'],
    ['2026-11-23'],
    ['2026-11-23 20:05:00Z'],
    ['2026-13-01T00:00:00Z'],
    ['2026-11-23T25:05:00Z'],
    ['2026-11-23T20:05:00Z garbage'],
    // Without an offset the time would be read in the instance's local zone: not one tick everywhere.
    ['2026-11-23T20:05:00'],
    ['2026-11-23T20:05'],
    // Date would roll these over into another day, silently naming a different tick.
    ['2026-02-30T00:00:00Z'],
    ['2026-04-31T00:00:00Z'],
  ])('%p is refused with a TickError', (header) => {
    expect(() => tickFromHeader(header, now)).toThrow(TickError);
    expect(() => tickFromHeader(header, now)).toThrow(
      /X-CloudScheduler-ScheduleTime .* is not an RFC 3339 time/,
    );
  });

  test.each([[undefined], [''], ['   ']])('%p is a manual tick of its own', (header) => {
    const tick = tickFromHeader(header, now);
    expect(tick.manual).toBe(true);
    expect(tick.scheduledAt).toEqual(now);
    expect(tick.id).toMatch(/^manual-2026-11-23T20:07:13\.250Z-[0-9a-f]{6}$/);
  });

  it('never gives two manual runs the same tick', () => {
    const ids = new Set(Array.from({ length: 50 }, () => tickFromHeader(undefined, now).id));
    expect(ids.size).toBe(50);
  });
});
