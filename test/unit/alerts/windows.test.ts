import { catalog } from '../../../functions/catalog';
import type { JobSpec } from '../../../functions/core/job-spec';
import { DEFAULT_BACKOFF } from '../../../functions/core/job-spec';
import { noConfig } from '../../../functions/core/config';
import {
  jobTiming,
  retryBackoffsMs,
  retryHorizonMs,
  timingProblems,
} from '../../../functions/alerts/windows';

const S = 1000;
const MIN = 60 * S;

const spec = (overrides: Partial<JobSpec>): JobSpec => ({
  id: 'test-job',
  description: 'test',
  schedule: { cron: '*/5 * * * *', timeZone: 'Etc/UTC' },
  httpMethod: 'GET',
  timeoutMs: 50 * S,
  attemptDeadlineMs: 60 * S,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  missedTicksBeforeAlert: 2,
  config: noConfig,
  roles: [],
  memoryMb: 256,
  ...overrides,
});

describe('retry backoffs', () => {
  it("follows Cloud Scheduler's documented sequence (min 10 s, max 300 s, 3 doublings)", () => {
    const retry = {
      retryCount: 8,
      minBackoffMs: 10 * S,
      maxBackoffMs: 300 * S,
      maxDoublings: 3,
      maxRetryDurationMs: 0,
    };
    expect(retryBackoffsMs(retry)).toEqual([10, 20, 40, 80, 160, 240, 300, 300].map((s) => s * S));
  });

  it('has a horizon of every attempt at its deadline plus the waits', () => {
    expect(retryHorizonMs(spec({}))).toBe(3 * 60 * S + 10 * S + 20 * S);
  });
});

describe('forward-progress windows', () => {
  it('is missed ticks × the longest gap plus the retry horizon, in whole minutes', () => {
    expect(jobTiming(spec({})).windowMs).toBe(2 * 5 * MIN + 4 * MIN);
    expect(jobTiming(spec({ schedule: { cron: '0 */4 * * *', timeZone: 'Etc/UTC' } })).windowMs).toBe(
      8 * 60 * MIN + 4 * MIN,
    );
  });

  it('widens over a daylight-saving gap for local-time schedules', () => {
    const berlin = jobTiming(spec({ schedule: { cron: '0 18 * * *', timeZone: 'Europe/Berlin' } }));
    expect(berlin.maxGapMs).toBe(25 * 60 * MIN);
    expect(berlin.windowMs).toBe(50 * 60 * MIN + 4 * MIN);
  });
});

describe('timing checks', () => {
  it.each([
    ['a window shorter than two ticks', { missedTicksBeforeAlert: 1 }, /missedTicksBeforeAlert/],
    ['a timeout not below the attempt deadline', { timeoutMs: 60 * S }, /timeoutMs must be below/],
    [
      'an attempt deadline over 30 minutes',
      {
        timeoutMs: 10 * S,
        attemptDeadlineMs: 31 * MIN,
        schedule: { cron: '0 * * * *', timeZone: 'Etc/UTC' },
      },
      /between 15 s and 30 min/,
    ],
    [
      'more than 5 retries',
      {
        retry: { ...DEFAULT_BACKOFF, retryCount: 6 },
        schedule: { cron: '0 */4 * * *', timeZone: 'Etc/UTC' },
      },
      /between 0 and 5/,
    ],
    [
      'a backoff faster than the metric sampling period',
      { retry: { ...DEFAULT_BACKOFF, retryCount: 1, minBackoffMs: 5 * S } },
      /at least 10 s/,
    ],
    [
      'retries running into the next tick',
      { retry: { ...DEFAULT_BACKOFF, retryCount: 4 } },
      /past the next tick/,
    ],
  ])('rejects %s', (_name, overrides, message) => {
    expect(timingProblems(spec(overrides as Partial<JobSpec>))).toEqual(
      expect.arrayContaining([expect.stringMatching(message)]),
    );
  });

  it('accepts a consistent job', () => {
    expect(timingProblems(spec({}))).toEqual([]);
  });

  it.each(catalog.map((job) => [job.id, job] as const))(
    'finds nothing wrong with the catalog entry %s',
    (_id, job) => {
      expect(timingProblems(job)).toEqual([]);
    },
  );
});
