/**
 * Cloud Scheduler as the simulator models it, as pure functions of virtual time:
 *
 * - ticks: the job's cron in its time zone, enumerated with the same minute scan the alert windows
 *   are derived from (functions/alerts/cron-gaps.ts), so DST days replay as the windows assume;
 * - retries: after a non-2xx answer (or none within the attempt deadline), the next retry waits
 *   the backoff of functions/alerts/windows.ts, counted from the answer; at most retry.retryCount
 *   retries, and never one at or after the job's next tick ("retry_count times, or until the next
 *   scheduled execution time, whichever comes first"). maxRetryDurationMs is not modelled: every
 *   catalog job leaves it at 0 (no limit besides the count).
 */
import { tickInstants } from '../functions/alerts/cron-gaps';
import { retryBackoffsMs } from '../functions/alerts/windows';
import type { JobSpec } from '../functions/core/job-spec';

/** Every tick of the job in [fromMs, toMs), in order. */
export function ticksOf(spec: Pick<JobSpec, 'schedule'>, fromMs: number, toMs: number): number[] {
  return [...tickInstants(spec.schedule.cron, spec.schedule.timeZone, fromMs, toMs)];
}

/** Cloud Scheduler's only notion of success: a 2xx answer within the attempt deadline. */
export function schedulerSucceeded(
  spec: Pick<JobSpec, 'attemptDeadlineMs'>,
  status: number | undefined,
  elapsedMs: number,
): boolean {
  return status !== undefined && status >= 200 && status < 300 && elapsedMs <= spec.attemptDeadlineMs;
}

export type RetryPlan =
  | { readonly kind: 'retry'; readonly retry: number; readonly atMs: number }
  | { readonly kind: 'stop'; readonly reason: 'retries-exhausted' | 'next-tick-due' };

export interface FailedRequest {
  /** Retries already made for the tick (0 after its first attempt failed). */
  readonly retriesDone: number;
  /** When the failed attempt was answered (or given up on). */
  readonly answeredAtMs: number;
  /** The job's next tick; Infinity when there is none in the simulated period. */
  readonly nextTickAtMs: number;
}

export function planRetry(spec: Pick<JobSpec, 'retry'>, failed: FailedRequest): RetryPlan {
  if (failed.retriesDone >= spec.retry.retryCount) return { kind: 'stop', reason: 'retries-exhausted' };
  const atMs = failed.answeredAtMs + retryBackoffsMs(spec.retry)[failed.retriesDone];
  if (atMs >= failed.nextTickAtMs) return { kind: 'stop', reason: 'next-tick-due' };
  return { kind: 'retry', retry: failed.retriesDone + 1, atMs };
}

/**
 * What Cloud Scheduler writes as `jsonPayload.status` of a failed attempt's AttemptFinished entry:
 * the google.rpc.Code of the target's HTTP answer, by the HTTP mapping documented in
 * https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto (read 2026-12-06), or
 * DEADLINE_EXCEEDED when no answer came within the attempt deadline. Undefined for a success.
 */
export function attemptStatus(
  spec: Pick<JobSpec, 'attemptDeadlineMs'>,
  status: number | undefined,
  elapsedMs: number,
): string | undefined {
  if (schedulerSucceeded(spec, status, elapsedMs)) return undefined;
  if (status === undefined || elapsedMs > spec.attemptDeadlineMs) return 'DEADLINE_EXCEEDED';
  const byStatus: Record<number, string> = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ABORTED',
    429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED',
    500: 'INTERNAL',
    501: 'UNIMPLEMENTED',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
  };
  return byStatus[status] ?? (status >= 500 ? 'UNKNOWN' : 'FAILED_PRECONDITION');
}
