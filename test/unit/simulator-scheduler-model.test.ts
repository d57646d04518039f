import { tickGaps, tickInstants } from '../../functions/alerts/cron-gaps';
import { cleanupWorker } from '../../functions/catalog';
import { DEFAULT_BACKOFF } from '../../functions/core/job-spec';
import { attemptStatus, planRetry, schedulerSucceeded, ticksOf } from '../../simulator/scheduler-model';

const SECOND = 1_000;
const MIN = 60 * SECOND;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const schedule = (cron: string, timeZone = 'Etc/UTC') => ({ schedule: { cron, timeZone } });

describe('ticksOf', () => {
  it('enumerates a UTC schedule in [from, to)', () => {
    const from = Date.parse('2026-03-27T00:00:00Z');
    const ticks = ticksOf(cleanupWorker, from, from + HOUR);
    expect(ticks).toHaveLength(12);
    expect(iso(ticks[0])).toBe('2026-03-27T00:00:00.000Z');
    expect(iso(ticks[11])).toBe('2026-03-27T00:55:00.000Z');
  });

  it('starts at the first whole minute at or after `from`', () => {
    const from = Date.parse('2026-03-27T00:04:30Z');
    expect(ticksOf(cleanupWorker, from, from + 10 * MIN).map(iso)).toEqual([
      '2026-03-27T00:05:00.000Z',
      '2026-03-27T00:10:00.000Z',
    ]);
  });

  it('skips a local time that does not exist on the spring-forward day', () => {
    const ticks = ticksOf(
      schedule('30 2 * * *', 'America/New_York'),
      Date.parse('2026-03-07T00:00:00Z'),
      Date.parse('2026-03-10T00:00:00Z'),
    );
    expect(ticks.map(iso)).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it('runs a repeated local time twice on the fall-back day', () => {
    const ticks = ticksOf(
      schedule('30 1 * * *', 'America/New_York'),
      Date.parse('2026-10-31T00:00:00Z'),
      Date.parse('2026-11-03T00:00:00Z'),
    );
    expect(ticks.map(iso)).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('follows a European zone across its own change date', () => {
    const ticks = ticksOf(
      schedule('0 18 * * *', 'Europe/Berlin'),
      Date.parse('2026-03-28T00:00:00Z'),
      Date.parse('2026-03-30T00:00:00Z'),
    );
    expect(ticks.map(iso)).toEqual(['2026-03-28T17:00:00.000Z', '2026-03-29T16:00:00.000Z']);
  });

  it.each([
    ['*/5 * * * *', 'Etc/UTC'],
    ['0 18 * * *', 'Europe/Berlin'],
    ['30 1 * * *', 'America/New_York'],
    ['0 2 * * *', 'America/New_York'],
    ['0 0 1 * 0', 'Etc/UTC'],
  ])('gives %s in %s exactly the gaps its alert window was derived from', (cron, zone) => {
    const instants = [
      ...tickInstants(cron, zone, Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-08T00:00:00Z')),
    ];
    const gaps = instants.slice(1).map((instant, index) => instant - instants[index]);
    expect({
      minGapMs: Math.min(...gaps),
      maxGapMs: Math.max(...gaps),
      ticksPerYear: instants.length,
    }).toEqual(tickGaps(cron, zone));
  });
});

describe('planRetry', () => {
  const answeredAtMs = Date.parse('2026-03-27T10:00:02Z');

  it("waits the catalog job's backoffs, counted from each answer, up to retryCount", () => {
    const nextTickAtMs = Date.parse('2026-03-27T10:05:00Z');
    expect(planRetry(cleanupWorker, { retriesDone: 0, answeredAtMs, nextTickAtMs })).toEqual({
      kind: 'retry',
      retry: 1,
      atMs: answeredAtMs + 10 * SECOND,
    });
    expect(planRetry(cleanupWorker, { retriesDone: 1, answeredAtMs, nextTickAtMs })).toEqual({
      kind: 'retry',
      retry: 2,
      atMs: answeredAtMs + 20 * SECOND,
    });
    expect(planRetry(cleanupWorker, { retriesDone: 2, answeredAtMs, nextTickAtMs })).toEqual({
      kind: 'stop',
      reason: 'retries-exhausted',
    });
  });

  it('doubles, then grows linearly, capped at the maximum backoff', () => {
    const spec = {
      retry: {
        minBackoffMs: 10 * SECOND,
        maxBackoffMs: 300 * SECOND,
        maxDoublings: 3,
        retryCount: 5,
        maxRetryDurationMs: 0,
      },
    };
    const waits = [0, 1, 2, 3, 4].map((retriesDone) => {
      const plan = planRetry(spec, { retriesDone, answeredAtMs: 0, nextTickAtMs: Infinity });
      return plan.kind === 'retry' ? plan.atMs / SECOND : plan.reason;
    });
    expect(waits).toEqual([10, 20, 40, 80, 160]);
  });

  it('never retries at or after the next tick', () => {
    expect(
      planRetry(cleanupWorker, { retriesDone: 0, answeredAtMs, nextTickAtMs: answeredAtMs + 10 * SECOND }),
    ).toEqual({ kind: 'stop', reason: 'next-tick-due' });
    expect(
      planRetry(cleanupWorker, {
        retriesDone: 0,
        answeredAtMs,
        nextTickAtMs: answeredAtMs + 10 * SECOND + 1,
      }),
    ).toMatchObject({ kind: 'retry' });
  });

  it('makes no retry for a job without retries', () => {
    const spec = { retry: { ...DEFAULT_BACKOFF, retryCount: 0 } };
    expect(planRetry(spec, { retriesDone: 0, answeredAtMs, nextTickAtMs: Infinity })).toEqual({
      kind: 'stop',
      reason: 'retries-exhausted',
    });
  });
});

describe('schedulerSucceeded', () => {
  it('takes 2xx within the attempt deadline as success, and nothing else', () => {
    expect(schedulerSucceeded(cleanupWorker, 200, SECOND)).toBe(true);
    expect(schedulerSucceeded(cleanupWorker, 204, cleanupWorker.attemptDeadlineMs)).toBe(true);
    expect(schedulerSucceeded(cleanupWorker, 200, cleanupWorker.attemptDeadlineMs + 1)).toBe(false);
    expect(schedulerSucceeded(cleanupWorker, 409, SECOND)).toBe(false);
    expect(schedulerSucceeded(cleanupWorker, 504, SECOND)).toBe(false);
    expect(schedulerSucceeded(cleanupWorker, undefined, SECOND)).toBe(false);
  });
});

describe('attemptStatus', () => {
  const spec = { attemptDeadlineMs: 60 * SECOND };
  it.each([
    [200, SECOND, undefined],
    [401, SECOND, 'UNAUTHENTICATED'],
    [403, SECOND, 'PERMISSION_DENIED'],
    [404, SECOND, 'NOT_FOUND'],
    [500, SECOND, 'INTERNAL'],
    [503, SECOND, 'UNAVAILABLE'],
    [504, SECOND, 'DEADLINE_EXCEEDED'],
    [undefined, SECOND, 'DEADLINE_EXCEEDED'],
    [200, 61 * SECOND, 'DEADLINE_EXCEEDED'],
  ])('logs HTTP %s after %d ms as %s', (status, elapsedMs, expected) => {
    expect(attemptStatus(spec, status, elapsedMs)).toBe(expected);
  });
});
