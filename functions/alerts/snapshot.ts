/**
 * Reads a FleetSnapshot from the run ledger: each job's last success and since when it is
 * expected, its overdue attempts, and the finished attempts of the look-back period.
 */
import type { JobSpec } from '../core/job-spec';
import type { Db } from '../core/db';
import type { AttemptOutcome } from '../core/signals';
import type { FleetSnapshot } from './evaluate';
import { jobTiming } from './windows';

/** Ledger attempt states as the alerts see them. */
export const OUTCOME_OF_STATE: Record<string, AttemptOutcome> = {
  succeeded: 'succeeded',
  failed: 'failed',
  abandoned: 'failed',
  skipped: 'skipped',
  duplicate: 'skipped',
};

export async function loadSnapshot(
  db: Db,
  jobs: readonly JobSpec[],
  now: Date,
  options: {
    lookbackMs: number;
    /** Jobs whose attempts do not count as fleet activity (the watchdog itself). */
    excludedFromActivity: readonly string[];
  },
): Promise<FleetSnapshot> {
  const ids = jobs.map((job) => job.id);
  // First sight of a job: from then on it is expected to run. Recorded once, never moved.
  await db.query(
    `INSERT INTO enx_jobs_expected (job_id, since)
     SELECT unnest($1::text[]), $2
     ON CONFLICT (job_id) DO NOTHING`,
    [ids, now],
  );
  const { rows: progress } = await db.query<{
    job_id: string;
    since: Date;
    last_success: Date | null;
    overdue: number;
  }>(
    `SELECT e.job_id, e.since,
            (SELECT max(finished_at) FROM enx_jobs_attempts a
              WHERE a.job_id = e.job_id AND a.state = 'succeeded' AND a.finished_at <= $2) AS last_success,
            (SELECT count(*)::int FROM enx_jobs_attempts a
              WHERE a.job_id = e.job_id AND a.state = 'running' AND a.deadline_at < $2) AS overdue
       FROM enx_jobs_expected e
      WHERE e.job_id = ANY($1::text[])`,
    [ids, now],
  );
  const { rows: attempts } = await db.query<{
    job_id: string;
    state: string;
    finished_at: Date;
    exhausted: boolean;
  }>(
    `SELECT job_id, state, finished_at, exhausted FROM enx_jobs_attempts
      WHERE finished_at > $1 AND finished_at <= $2 AND state <> 'running'
      ORDER BY finished_at`,
    [new Date(now.getTime() - options.lookbackMs), now],
  );
  const { rows: activity } = await db.query<{ last: Date | null }>(
    `SELECT max(finished_at) AS last FROM enx_jobs_attempts
      WHERE finished_at <= $1 AND state <> 'running' AND NOT (job_id = ANY($2::text[]))`,
    [now, options.excludedFromActivity],
  );
  const byId = new Map(progress.map((row) => [row.job_id, row]));
  return {
    now,
    lastActivityAt: activity[0]?.last ?? undefined,
    jobs: jobs.map((job) => {
      const row = byId.get(job.id);
      return {
        jobId: job.id,
        windowMs: jobTiming(job).windowMs,
        lastSuccessAt: row?.last_success ?? undefined,
        expectedSince: row?.since ?? now,
        overdueAttempts: row?.overdue ?? 0,
      };
    }),
    attempts: attempts.map((row) => ({
      jobId: row.job_id,
      outcome: OUTCOME_OF_STATE[row.state] ?? 'failed',
      finishedAt: row.finished_at,
      exhausted: row.exhausted,
    })),
  };
}
