/**
 * Tick identity. Cloud Scheduler sends X-CloudScheduler-ScheduleTime (RFC 3339) with every attempt
 * of a scheduled run, retries included, so job id + schedule time names one run ("tick"). A request
 * without the header (a manual run with curl, the local CLI) gets a tick of its own.
 *
 * The header is only trusted when it names a tick the job's own schedule has already reached
 * (checkScheduledTick): otherwise any caller could pick which ticks run, for instance run the next
 * tick early so that the real one is answered "duplicate" and does nothing.
 */
import { randomBytes } from 'node:crypto';
import { tickInstants } from '../alerts/cron-gaps';

export const SCHEDULE_TIME_HEADER = 'x-cloudscheduler-scheduletime';

export interface Tick {
  /** The normalised schedule time (ISO 8601, UTC), or `manual-<time>-<random>`. */
  readonly id: string;
  readonly scheduledAt: Date;
  readonly manual: boolean;
}

export class TickError extends Error {
  override readonly name = 'TickError';
}

/**
 * How far ahead of this instance's clock a schedule time may be. Cloud Scheduler dispatches a tick
 * at or after its time, so only the two machines' clock difference can put it ahead; both are
 * kept in sync by Google, so seconds are plenty.
 */
export const TICK_CLOCK_SKEW_MS = 15_000;

/**
 * Refuses a scheduled tick that the job's schedule does not have, or has not reached yet. A manual
 * tick (no header) passes. Throws TickError, naming the schedule and what to do instead.
 */
export function checkScheduledTick(
  tick: Tick,
  schedule: { readonly cron: string; readonly timeZone: string },
  now: Date,
): void {
  if (tick.manual) return;
  const at = tick.scheduledAt.getTime();
  const ahead = at - now.getTime();
  if (ahead > TICK_CLOCK_SKEW_MS) {
    throw new TickError(
      `X-CloudScheduler-ScheduleTime ${tick.id} is ${Math.round(ahead / 1000)} s in the future (at most ${TICK_CLOCK_SKEW_MS / 1000} s of clock skew is allowed); a tick runs once its time has come`,
    );
  }
  if (tickInstants(schedule.cron, schedule.timeZone, at, at + 1).next().done) {
    throw new TickError(
      `X-CloudScheduler-ScheduleTime ${tick.id} is not a tick of this job's schedule ("${schedule.cron}" in ${schedule.timeZone}); leave the header out for a manual run`,
    );
  }
}

export function tickFromHeader(header: string | undefined, now: Date): Tick {
  if (header === undefined || header.trim() === '') {
    return {
      id: `manual-${now.toISOString()}-${randomBytes(3).toString('hex')}`,
      scheduledAt: now,
      manual: true,
    };
  }
  const text = header.trim();
  const scheduledAt = new Date(text);
  if (Number.isNaN(scheduledAt.getTime()) || !isRfc3339(text)) {
    throw new TickError(
      `X-CloudScheduler-ScheduleTime "${header}" is not an RFC 3339 time; leave the header out for a manual run`,
    );
  }
  return { id: scheduledAt.toISOString(), scheduledAt, manual: false };
}

/**
 * The full RFC 3339 shape, offset included: without one, Date reads the time in the instance's own
 * zone, and Date rolls impossible days (02-30) into the next month; either would name another tick.
 */
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function isRfc3339(text: string): boolean {
  const match = RFC_3339.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1, 4).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
