/**
 * Per-job timing derived from the catalog: how long a tick's retries can run, and how long a job may
 * go without a success before ForwardProgressFailed fires. Nothing here is typed by hand.
 */
import type { JobSpec, RetryPolicy } from '../core/job-spec';
import { tickGaps } from './cron-gaps';

const MINUTE_MS = 60_000;

/**
 * The waits Cloud Scheduler makes before each retry: the minimum backoff, doubled maxDoublings
 * times, then growing by the last doubled step each time, never above the maximum backoff
 * (RetryConfig's documented behaviour: 10 s, 20 s, 40 s, 80 s, 160 s, 240 s, 300 s, ... for
 * min 10 s, max 300 s, 3 doublings).
 */
export function retryBackoffsMs(retry: RetryPolicy): number[] {
  const waits: number[] = [];
  const linearStep = retry.minBackoffMs * 2 ** retry.maxDoublings;
  let wait = retry.minBackoffMs;
  for (let i = 1; i <= retry.retryCount; i += 1) {
    if (i > 1) wait = i - 1 <= retry.maxDoublings ? retry.minBackoffMs * 2 ** (i - 1) : wait + linearStep;
    waits.push(Math.min(wait, retry.maxBackoffMs));
  }
  return waits;
}

/** Worst case from a tick's start to the end of its last retry: every attempt runs to its deadline. */
export function retryHorizonMs(spec: Pick<JobSpec, 'retry' | 'attemptDeadlineMs'>): number {
  const waits = retryBackoffsMs(spec.retry).reduce((sum, wait) => sum + wait, 0);
  return (spec.retry.retryCount + 1) * spec.attemptDeadlineMs + waits;
}

export interface JobTiming {
  readonly jobId: string;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  readonly retryHorizonMs: number;
  /**
   * ForwardProgressFailed window: missedTicksBeforeAlert of the longest gap between ticks, plus the
   * retry horizon (the last tick's retries may still succeed), rounded up to a whole minute.
   */
  readonly windowMs: number;
}

export function jobTiming(spec: JobSpec): JobTiming {
  const gaps = tickGaps(spec.schedule.cron, spec.schedule.timeZone);
  const horizon = retryHorizonMs(spec);
  const raw = gaps.maxGapMs * spec.missedTicksBeforeAlert + horizon;
  return {
    jobId: spec.id,
    minGapMs: gaps.minGapMs,
    maxGapMs: gaps.maxGapMs,
    retryHorizonMs: horizon,
    windowMs: Math.ceil(raw / MINUTE_MS) * MINUTE_MS,
  };
}

/** Limits of Google's services that the catalog must respect (anchors-features.md §3). */
export const GOOGLE_LIMITS = {
  attemptDeadlineMinMs: 15_000,
  attemptDeadlineMaxMs: 30 * MINUTE_MS,
  retryCountMax: 5,
  /** One point per series per 5-10 s; two attempts of a tick must never write closer than this. */
  metricSamplingPeriodMs: 10_000,
  absenceMinMs: 2 * MINUTE_MS,
  absenceMaxMs: 23.5 * 60 * MINUTE_MS,
} as const;

/**
 * Every inconsistency of one catalog entry, as sentences naming the setting to change. The tests
 * fail on any; `npm start` refuses to run with any.
 */
export function timingProblems(spec: JobSpec): string[] {
  const problems: string[] = [];
  const timing = jobTiming(spec);
  const name = `${spec.id}:`;
  if (spec.missedTicksBeforeAlert < 2) {
    problems.push(
      `${name} missedTicksBeforeAlert must be at least 2 (a window shorter than two ticks pages on one blip)`,
    );
  }
  if (spec.timeoutMs >= spec.attemptDeadlineMs) {
    problems.push(
      `${name} timeoutMs must be below attemptDeadlineMs, so the runtime answers before the scheduler gives up`,
    );
  }
  if (
    spec.attemptDeadlineMs < GOOGLE_LIMITS.attemptDeadlineMinMs ||
    spec.attemptDeadlineMs > GOOGLE_LIMITS.attemptDeadlineMaxMs
  ) {
    problems.push(
      `${name} attemptDeadlineMs must be between 15 s and 30 min (Cloud Scheduler's range for HTTP targets)`,
    );
  }
  if (spec.retry.retryCount < 0 || spec.retry.retryCount > GOOGLE_LIMITS.retryCountMax) {
    problems.push(`${name} retry.retryCount must be between 0 and 5`);
  }
  if (spec.retry.retryCount > 0 && spec.retry.minBackoffMs < GOOGLE_LIMITS.metricSamplingPeriodMs) {
    problems.push(
      `${name} retry.minBackoffMs must be at least 10 s, or two attempts of one tick can write a metric series faster than Cloud Monitoring accepts`,
    );
  }
  if (spec.retry.minBackoffMs > spec.retry.maxBackoffMs) {
    problems.push(`${name} retry.minBackoffMs must not exceed retry.maxBackoffMs`);
  }
  if (timing.retryHorizonMs >= timing.minGapMs) {
    problems.push(
      `${name} a tick's retries can run for ${Math.round(timing.retryHorizonMs / 1000)} s, past the next tick ${Math.round(timing.minGapMs / 1000)} s later; lower retry.retryCount or attemptDeadlineMs`,
    );
  }
  return problems;
}
