/**
 * Tick identity. Cloud Scheduler sends X-CloudScheduler-ScheduleTime (RFC 3339) with every attempt
 * of a scheduled run, retries included, so job id + schedule time names one run ("tick"). A request
 * without the header (a manual run with curl, the local CLI) gets a tick of its own.
 *
 * Cloud Scheduler's "force run" may send the *next* scheduled time; that run then stands for the
 * next tick, which is answered as a duplicate when it arrives. The work is done either way.
 */
import { randomBytes } from 'node:crypto';

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
