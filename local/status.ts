/**
 * The fleet's status as one plain data object, assembled from the sources an operator would look
 * at in the cloud: the catalog (what should run), the scheduler (what runs next, what is in
 * flight), the run ledger in Postgres (what ran: ticks and attempts), and the counters the
 * functions record beside it (enx_jobs_counters, which fleet-watchdog writes to Cloud Monitoring).
 * The JSON endpoint and the HTML page both render this one object, and later additions (alert
 * verdicts) join it here, not in the HTTP server.
 */
import type { AlertReport } from './alert-evaluator';
import type { Db } from '../functions/core/db';
import { readCounters } from '../functions/db/counters';
import type { JobSpec, RetryPolicy } from '../functions/core/job-spec';
import type { AttemptReport, InFlightCall } from './scheduler';
import { jobTiming } from '../functions/alerts/windows';
import { jobHealth, progressRatio, TIMELINE_MS, timelineSlots } from './job-health';
import type { JobHealth, TimelineSlot, TimelineTick } from './job-health';

export interface FleetUrls {
  readonly status: string;
  readonly issuer: string;
  readonly jwks: string;
  /** postgres:// URL without the password. */
  readonly database: string;
  readonly functions: Readonly<Record<string, string>>;
}

export interface FleetFiles {
  readonly dataDir: string;
  readonly functionLog: string;
  readonly postgresLog: string;
}

export interface AttemptRow {
  readonly tickId: string;
  readonly attempt: number;
  readonly state: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly result: unknown;
  readonly exhausted: boolean;
}

export interface TickRow {
  readonly tickId: string;
  readonly scheduledAt: string;
  readonly manual: boolean;
  readonly state: string;
  readonly attempts: number;
  readonly lastFinishedAt: string | null;
  readonly lastError: string | null;
}

export interface Tallies {
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly exhausted: number;
  readonly lastSuccessAt: string | null;
  /** When the job's first counter was recorded in this database; null before any. */
  readonly countingSince: string | null;
}

/** The scheduler's own view: what the client saw, including answers the ledger never records. */
export interface SchedulerView {
  readonly nextScheduledAt: string | null;
  readonly inFlight: { tickAt: string; attempt: number; startedAt: string; trigger: string } | null;
  readonly lastCall: {
    tickAt: string;
    attempt: number;
    startedAt: string;
    durationMs: number;
    httpStatus: number | null;
    ok: boolean;
    error: string | null;
    next: string;
  } | null;
}

export interface JobStatus {
  readonly id: string;
  readonly description: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly httpMethod: string;
  readonly url: string;
  readonly timeoutMs: number;
  readonly attemptDeadlineMs: number;
  readonly retry: RetryPolicy;
  readonly nextScheduledAt: string | null;
  readonly scheduler: SchedulerView;
  readonly tallies: Tallies;
  readonly lastTicks: readonly TickRow[];
  readonly lastAttempts: readonly AttemptRow[];
  /** Paused through the Cloud Scheduler API: ticks pass without a call. */
  readonly paused: boolean;
  /** The ForwardProgressFailed window (functions/alerts/windows.ts). */
  readonly windowMs: number;
  /** The last success the ledger holds (not only since this start). */
  readonly lastSuccessAt: string | null;
  readonly health: JobHealth;
  /** Time since the last success (or since the fleet started) over the window. */
  readonly progress: number;
  /** The last 24 hours of ticks in fixed slots, oldest first. */
  readonly timeline: readonly TimelineSlot[];
}

export interface FleetStatus {
  readonly generatedAt: string;
  readonly startedAt: string;
  readonly uptimeMs: number;
  readonly urls: FleetUrls;
  readonly files: FleetFiles;
  /** Set when the ledger could not be read; the rest of the status is still shown. */
  readonly ledgerError: string | null;
  /** The local alert evaluator's latest verdicts: the alerts firing now. */
  readonly alerts: AlertReport;
  readonly jobs: readonly JobStatus[];
}

export interface SchedulerSource {
  nextTickAt(jobId: string): Date | null;
  isPaused(jobId: string): boolean;
  inFlight(jobId: string): InFlightCall | null;
  lastAttempt(jobId: string): AttemptReport | null;
}

export interface StatusSources {
  readonly db: Db;
  readonly startedAt: Date;
  readonly urls: FleetUrls;
  readonly files: FleetFiles;
  readonly jobs: readonly { readonly spec: JobSpec; readonly url: string }[];
  readonly scheduler: SchedulerSource;
  readonly alerts?: () => AlertReport;
  readonly now?: () => Date;
}

export interface StatusLimits {
  /** Attempts shown per job. */
  readonly attempts: number;
  /** Ticks shown per job. */
  readonly ticks: number;
}

const DEFAULT_LIMITS: StatusLimits = { attempts: 10, ticks: 5 };

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : null);

async function readAttempts(db: Db, jobIds: string[], limit: number): Promise<Map<string, AttemptRow[]>> {
  const { rows } = await db.query<{
    job_id: string;
    tick_id: string;
    attempt: number;
    state: string;
    started_at: Date;
    finished_at: Date | null;
    duration_ms: number | null;
    error: string | null;
    result: unknown;
    exhausted: boolean;
  }>(
    `SELECT j.id AS job_id, a.tick_id, a.attempt, a.state, a.started_at, a.finished_at, a.duration_ms,
            a.error, a.result, a.exhausted
       FROM unnest($1::text[]) AS j(id)
       CROSS JOIN LATERAL (
         SELECT * FROM enx_jobs_attempts WHERE job_id = j.id ORDER BY started_at DESC, id DESC LIMIT $2
       ) a`,
    [jobIds, limit],
  );
  const byJob = new Map<string, AttemptRow[]>();
  for (const row of rows) {
    const list = byJob.get(row.job_id) ?? [];
    list.push({
      tickId: row.tick_id,
      attempt: row.attempt,
      state: row.state,
      startedAt: row.started_at.toISOString(),
      finishedAt: iso(row.finished_at),
      durationMs: row.duration_ms,
      error: row.error,
      result: row.result,
      exhausted: row.exhausted,
    });
    byJob.set(row.job_id, list);
  }
  return byJob;
}

async function readTicks(db: Db, jobIds: string[], limit: number): Promise<Map<string, TickRow[]>> {
  const { rows } = await db.query<{
    job_id: string;
    tick_id: string;
    scheduled_at: Date;
    manual: boolean;
    state: string;
    attempts: number;
    last_finished_at: Date | null;
    last_error: string | null;
  }>(
    `SELECT j.id AS job_id, t.tick_id, t.scheduled_at, t.manual, t.state, t.attempts, t.last_finished_at,
            t.last_error
       FROM unnest($1::text[]) AS j(id)
       CROSS JOIN LATERAL (
         SELECT * FROM enx_jobs_ticks WHERE job_id = j.id ORDER BY scheduled_at DESC LIMIT $2
       ) t`,
    [jobIds, limit],
  );
  const byJob = new Map<string, TickRow[]>();
  for (const row of rows) {
    const list = byJob.get(row.job_id) ?? [];
    list.push({
      tickId: row.tick_id,
      scheduledAt: row.scheduled_at.toISOString(),
      manual: row.manual,
      state: row.state,
      attempts: row.attempts,
      lastFinishedAt: iso(row.last_finished_at),
      lastError: row.last_error,
    });
    byJob.set(row.job_id, list);
  }
  return byJob;
}

type Counts = Omit<Tallies, 'lastSuccessAt'>;

const NO_COUNTS: Counts = {
  started: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  exhausted: 0,
  countingSince: null,
};
const TALLIED = new Set<string>(['started', 'succeeded', 'failed', 'skipped', 'exhausted']);

/** Each job's counters as the functions record them, read as the watchdog reads them to export. */
async function readCounts(db: Db): Promise<Map<string, Counts>> {
  const counts = new Map<string, Counts>();
  for (const counter of await readCounters(db)) {
    if (!TALLIED.has(counter.name)) continue;
    const current = counts.get(counter.jobId) ?? NO_COUNTS;
    const since = counter.startedAt.toISOString();
    counts.set(counter.jobId, {
      ...current,
      [counter.name]: counter.value,
      countingSince: current.countingSince && current.countingSince < since ? current.countingSince : since,
    });
  }
  return counts;
}

interface DayOfTicks {
  readonly ticks: Map<string, TimelineTick[]>;
  readonly lastSuccess: Map<string, string>;
  readonly lastFinished: Map<string, string>;
}

/** Each job's ticks of the last day, its last success and the state of its latest finished tick. */
async function readDay(db: Db, jobIds: string[], now: Date): Promise<DayOfTicks> {
  const [day, latest] = await Promise.all([
    db.query<{
      job_id: string;
      scheduled_at: Date;
      state: string;
      attempts: number;
      manual: boolean;
      non_runs: number;
    }>(
      `SELECT t.job_id, t.scheduled_at, t.state, t.attempts, t.manual,
              (SELECT count(*) FROM enx_jobs_attempts a
                WHERE a.job_id = t.job_id AND a.tick_id = t.tick_id AND a.state IN ('duplicate', 'skipped'))::int AS non_runs
         FROM enx_jobs_ticks t
        WHERE t.job_id = ANY($1) AND t.scheduled_at >= $2
        ORDER BY t.scheduled_at`,
      [jobIds, new Date(now.getTime() - TIMELINE_MS)],
    ),
    db.query<{ job_id: string; last_success: Date | null; last_finished_state: string | null }>(
      `SELECT j.id AS job_id,
              (SELECT max(succeeded_at) FROM enx_jobs_ticks WHERE job_id = j.id) AS last_success,
              (SELECT state FROM enx_jobs_ticks WHERE job_id = j.id AND state <> 'running'
                ORDER BY scheduled_at DESC LIMIT 1) AS last_finished_state
         FROM unnest($1::text[]) AS j(id)`,
      [jobIds],
    ),
  ]);
  const ticks = new Map<string, TimelineTick[]>();
  for (const row of day.rows) {
    const list = ticks.get(row.job_id) ?? [];
    list.push({
      scheduledAt: row.scheduled_at.toISOString(),
      state: row.state,
      attempts: row.attempts,
      nonRuns: row.non_runs,
      manual: row.manual,
    });
    ticks.set(row.job_id, list);
  }
  const lastSuccess = new Map<string, string>();
  const lastFinished = new Map<string, string>();
  for (const row of latest.rows) {
    if (row.last_success) lastSuccess.set(row.job_id, row.last_success.toISOString());
    if (row.last_finished_state) lastFinished.set(row.job_id, row.last_finished_state);
  }
  return { ticks, lastSuccess, lastFinished };
}

function schedulerView(scheduler: SchedulerSource, jobId: string): SchedulerView {
  const inFlight = scheduler.inFlight(jobId);
  const last = scheduler.lastAttempt(jobId);
  return {
    nextScheduledAt: iso(scheduler.nextTickAt(jobId)),
    inFlight: inFlight
      ? {
          tickAt: inFlight.tickAt.toISOString(),
          attempt: inFlight.attempt,
          startedAt: inFlight.startedAt.toISOString(),
          trigger: inFlight.trigger,
        }
      : null,
    lastCall: last
      ? {
          tickAt: last.tickAt.toISOString(),
          attempt: last.attempt,
          startedAt: last.startedAt.toISOString(),
          durationMs: last.durationMs,
          httpStatus: last.status ?? null,
          ok: last.ok,
          error: last.error ?? null,
          next: last.next.kind === 'stop' ? `stop: ${last.next.reason}` : last.next.kind,
        }
      : null,
  };
}

export async function collectStatus(
  sources: StatusSources,
  limits: StatusLimits = DEFAULT_LIMITS,
): Promise<FleetStatus> {
  const now = sources.now?.() ?? new Date();
  const jobIds = sources.jobs.map((job) => job.spec.id);
  let attempts = new Map<string, AttemptRow[]>();
  let ticks = new Map<string, TickRow[]>();
  let day: DayOfTicks = { ticks: new Map(), lastSuccess: new Map(), lastFinished: new Map() };
  let counts = new Map<string, Counts>();
  let ledgerError: string | null = null;
  try {
    [attempts, ticks, day, counts] = await Promise.all([
      readAttempts(sources.db, jobIds, limits.attempts),
      readTicks(sources.db, jobIds, limits.ticks),
      readDay(sources.db, jobIds, now),
      readCounts(sources.db),
    ]);
  } catch (error) {
    ledgerError = `the run ledger could not be read: ${(error as Error).message}`;
  }
  return {
    generatedAt: now.toISOString(),
    startedAt: sources.startedAt.toISOString(),
    uptimeMs: now.getTime() - sources.startedAt.getTime(),
    urls: sources.urls,
    files: sources.files,
    ledgerError,
    alerts: sources.alerts?.() ?? { evaluatedAt: null, firing: [], error: null },
    jobs: sources.jobs.map(({ spec, url }) => {
      const scheduler = schedulerView(sources.scheduler, spec.id);
      const paused = sources.scheduler.isPaused(spec.id);
      const { windowMs } = jobTiming(spec);
      const lastSuccessAt = day.lastSuccess.get(spec.id) ?? null;
      const healthInput = {
        paused,
        lastSuccessAt,
        lastFinishedState: day.lastFinished.get(spec.id) ?? null,
        windowMs,
        expectedSince: sources.startedAt,
        now,
      };
      return {
        id: spec.id,
        description: spec.description,
        cron: spec.schedule.cron,
        timeZone: spec.schedule.timeZone,
        httpMethod: spec.httpMethod,
        url,
        timeoutMs: spec.timeoutMs,
        attemptDeadlineMs: spec.attemptDeadlineMs,
        retry: spec.retry,
        nextScheduledAt: scheduler.nextScheduledAt,
        scheduler,
        tallies: { ...(counts.get(spec.id) ?? NO_COUNTS), lastSuccessAt },
        lastTicks: ticks.get(spec.id) ?? [],
        lastAttempts: attempts.get(spec.id) ?? [],
        paused,
        windowMs,
        lastSuccessAt,
        health: jobHealth(healthInput),
        progress: progressRatio(healthInput),
        timeline: timelineSlots(day.ticks.get(spec.id) ?? [], now),
      };
    }),
  };
}
