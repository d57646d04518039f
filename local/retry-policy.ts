/**
 * Cloud Scheduler's retry behaviour as pure functions, so the local scheduler retries exactly like the
 * real one and the rules are testable without a clock.
 *
 * The documented progression (RetryConfig): the wait starts at min_backoff, doubles max_doublings
 * times, then grows linearly by the last doubled wait, and is capped at max_backoff. Google's own
 * example, min 10 s, max 300 s, 3 doublings: 10, 20, 40, 80, 160, 240, 300, 300 … s.
 * Retries stop after retry_count (or, with max_retry_duration set, once both limits are reached),
 * or when the next retry would fall on or after the job's next scheduled time: the API reference
 * says retries go on "retry_count times, or until the next scheduled execution time, whichever
 * comes first".
 */
import type { RetryPolicy } from '../functions/core/job-spec';

/** The wait before retry number `retry` (1 = the first retry). */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be 1 or more, got ${retry}`);
  const index = retry - 1;
  const uncapped =
    index <= policy.maxDoublings
      ? policy.minBackoffMs * 2 ** index
      : policy.minBackoffMs * 2 ** policy.maxDoublings * (index - policy.maxDoublings + 1);
  return Math.min(uncapped, policy.maxBackoffMs);
}

/** Every wait of a tick that keeps failing, ignoring the next tick: [before retry 1, before retry 2, …]. */
export function backoffSchedule(policy: RetryPolicy, retries = policy.retryCount): number[] {
  return Array.from({ length: retries }, (_, index) => retryDelayMs(policy, index + 1));
}

export type RetryStopReason = 'retries-exhausted' | 'next-tick-due';

export type RetryDecision =
  | { readonly kind: 'retry'; readonly retry: number; readonly delayMs: number; readonly atMs: number }
  | { readonly kind: 'stop'; readonly reason: RetryStopReason };

export interface FailedTick {
  /** Retries already made for this tick (0 after the first attempt failed). */
  readonly retriesDone: number;
  /** When the tick's first attempt started; max_retry_duration counts from here. */
  readonly firstAttemptAtMs: number;
  /** When the attempt that just failed ended. */
  readonly nowMs: number;
  /** The job's next scheduled time; null when the schedule has no further run. */
  readonly nextTickAtMs: number | null;
}

/** What Cloud Scheduler does after a failed attempt: retry at a given time, or give the tick up. */
export function planRetry(policy: RetryPolicy, tick: FailedTick): RetryDecision {
  const retry = tick.retriesDone + 1;
  const delayMs = retryDelayMs(policy, retry);
  const atMs = tick.nowMs + delayMs;
  const countLeft = tick.retriesDone < policy.retryCount;
  const durationLeft =
    policy.maxRetryDurationMs > 0 && atMs - tick.firstAttemptAtMs <= policy.maxRetryDurationMs;
  if (!countLeft && !durationLeft) return { kind: 'stop', reason: 'retries-exhausted' };
  if (tick.nextTickAtMs !== null && atMs >= tick.nextTickAtMs)
    return { kind: 'stop', reason: 'next-tick-due' };
  return { kind: 'retry', retry, delayMs, atMs };
}
