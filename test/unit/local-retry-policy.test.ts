import type { RetryPolicy } from '../../functions/core/job-spec';
import { backoffSchedule, planRetry, retryDelayMs } from '../../local/retry-policy';

const SECOND = 1000;
/** Cloud Scheduler's API defaults (5 s, 1 h, 5 doublings), spelled out so the tests do not move with ours. */
const policy = (overrides: Partial<RetryPolicy>): RetryPolicy => ({
  minBackoffMs: 5 * SECOND,
  maxBackoffMs: 3600 * SECOND,
  maxDoublings: 5,
  maxRetryDurationMs: 0,
  retryCount: 3,
  ...overrides,
});

describe('retryDelayMs / backoffSchedule (Cloud Scheduler backoff)', () => {
  it("reproduces Google's documented example: min 10 s, max 300 s, 3 doublings", () => {
    const example = policy({ minBackoffMs: 10 * SECOND, maxBackoffMs: 300 * SECOND, maxDoublings: 3 });
    expect(backoffSchedule(example, 8).map((ms) => ms / SECOND)).toEqual([
      10, 20, 40, 80, 160, 240, 300, 300,
    ]);
  });

  it('doubles from min_backoff and caps at max_backoff', () => {
    const defaults = policy({ retryCount: 5 });
    expect(backoffSchedule(defaults).map((ms) => ms / SECOND)).toEqual([5, 10, 20, 40, 80]);
    expect(retryDelayMs(policy({ maxBackoffMs: 30 * SECOND }), 5)).toBe(30 * SECOND);
  });

  it('with no doublings grows linearly', () => {
    expect(backoffSchedule(policy({ minBackoffMs: SECOND, maxDoublings: 0 }), 4)).toEqual([
      SECOND,
      2 * SECOND,
      3 * SECOND,
      4 * SECOND,
    ]);
  });

  it('refuses retry numbers below 1', () => {
    expect(() => retryDelayMs(policy({}), 0)).toThrow(RangeError);
  });
});

describe('planRetry', () => {
  const start = Date.parse('2026-01-01T00:00:00Z');
  const tick = { firstAttemptAtMs: start, nowMs: start + 2 * SECOND, nextTickAtMs: start + 300 * SECOND };

  it('retries after the backoff while retries are left', () => {
    expect(planRetry(policy({}), { ...tick, retriesDone: 0 })).toEqual({
      kind: 'retry',
      retry: 1,
      delayMs: 5 * SECOND,
      atMs: start + 7 * SECOND,
    });
    expect(planRetry(policy({}), { ...tick, retriesDone: 2 })).toMatchObject({ kind: 'retry', retry: 3 });
  });

  it('gives the tick up after retryCount retries', () => {
    expect(planRetry(policy({}), { ...tick, retriesDone: 3 })).toEqual({
      kind: 'stop',
      reason: 'retries-exhausted',
    });
    expect(planRetry(policy({ retryCount: 0 }), { ...tick, retriesDone: 0 })).toEqual({
      kind: 'stop',
      reason: 'retries-exhausted',
    });
  });

  it('stops retrying when the retry would fall on or after the next tick', () => {
    const nextTickSoon = { ...tick, nextTickAtMs: start + 7 * SECOND };
    expect(planRetry(policy({}), { ...nextTickSoon, retriesDone: 0 })).toEqual({
      kind: 'stop',
      reason: 'next-tick-due',
    });
    expect(planRetry(policy({}), { ...tick, nextTickAtMs: null, retriesDone: 0 }).kind).toBe('retry');
  });

  it('with max_retry_duration, keeps retrying until both limits are reached', () => {
    const timed = policy({ retryCount: 1, maxRetryDurationMs: 60 * SECOND, maxBackoffMs: 10 * SECOND });
    expect(planRetry(timed, { ...tick, retriesDone: 4, nowMs: start + 30 * SECOND }).kind).toBe('retry');
    expect(planRetry(timed, { ...tick, retriesDone: 4, nowMs: start + 55 * SECOND })).toEqual({
      kind: 'stop',
      reason: 'retries-exhausted',
    });
  });
});
