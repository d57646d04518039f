/**
 * Tick identity. Cloud Scheduler sends X-CloudScheduler-ScheduleTime (RFC 3339) with every attempt
 * of a scheduled run, retries included, so job id + schedule time names one run ("tick"). A request
 * without the header (a manual run with curl, the local CLI) gets a tick of its own.
 *
 * The header is only trusted when it names a tick the job's own schedule has already reached
 * (admitScheduledTick): otherwise any caller could pick which ticks run, for instance run the next
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

/** What admission needs of a job's spec to judge a schedule time. */
export interface TickRules {
  readonly schedule: { readonly cron: string; readonly timeZone: string };
  readonly attemptDeadlineMs: number;
  readonly retry: { readonly retryCount: number; readonly maxBackoffMs: number };
}

/**
 * Admits a scheduled tick that the job's schedule has and has reached, or reads a recent time off
 * the schedule as a forced run; refuses everything else. A manual tick (no header) passes.
 * Throws TickError, naming the schedule and what to do instead.
 *
 * Forced runs ("Run now" in the console, `gcloud scheduler jobs run`, `npm run jobs -- run`, all
 * Cloud Scheduler's RunJob) are dispatched off the cron, and Google does not say which schedule
 * time they carry. Read on 2026-12-06: the RunJob reference
 * (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs/run) says
 * only that the job is dispatched even if it is already running; Firebase's ScheduledEvent
 * reference (https://firebase.google.com/docs/reference/functions/2nd-gen/node/firebase-functions.scheduler.scheduledevent)
 * says a manually triggered schedule carries the execution time. Refusing that would refuse the
 * runbooks' own remedy, so a time off the cron that is not in the future and no older than one
 * forced run's retries is a forced run: a manual tick keyed by that time, so that its retries
 * share it. It can neither pre-empt nor replay a scheduled tick, and it runs nothing that a
 * header-less manual run could not.
 */
export function admitScheduledTick(tick: Tick, rules: TickRules, now: Date): Tick {
  if (tick.manual) return tick;
  const at = tick.scheduledAt.getTime();
  const ahead = at - now.getTime();
  if (ahead > TICK_CLOCK_SKEW_MS) {
    throw new TickError(
      `X-CloudScheduler-ScheduleTime ${tick.id} is ${Math.round(ahead / 1000)} s in the future (at most ${TICK_CLOCK_SKEW_MS / 1000} s of clock skew is allowed); a tick runs once its time has come`,
    );
  }
  if (!tickInstants(rules.schedule.cron, rules.schedule.timeZone, at, at + 1).next().done) return tick;
  if (-ahead <= forcedRunSpanMs(rules)) {
    return { id: `${FORCED_PREFIX}${tick.id}`, scheduledAt: tick.scheduledAt, manual: true };
  }
  throw new TickError(
    `X-CloudScheduler-ScheduleTime ${tick.id} is not a tick of this job's schedule ("${rules.schedule.cron}" in ${rules.schedule.timeZone}) nor a recent forced run; leave the header out for a manual run`,
  );
}

const FORCED_PREFIX = 'forced-';

/**
 * The tick's kind as a short name that is safe in a file or object name: `scheduled`, `forced`
 * (a forced run's time is the tick's time already), or `manual-<random>` (the part that tells two
 * manual runs of the same second apart).
 */
export function tickKind(tick: Tick): string {
  if (!tick.manual) return 'scheduled';
  if (tick.id.startsWith(FORCED_PREFIX)) return 'forced';
  return `manual-${tick.id.slice(tick.id.lastIndexOf('-') + 1)}`;
}

/** How long Cloud Scheduler may keep retrying one dispatch: every attempt and every backoff. */
export function forcedRunSpanMs(rules: TickRules): number {
  const { retryCount, maxBackoffMs } = rules.retry;
  return (retryCount + 1) * rules.attemptDeadlineMs + retryCount * maxBackoffMs + TICK_CLOCK_SKEW_MS;
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
