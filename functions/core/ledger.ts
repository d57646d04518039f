/**
 * The run ledger: every attempt is a row, every tick has a state. All writes that open or close an
 * attempt happen while the job lock is held, so they never race each other; each is one statement,
 * so a tick row and its attempt row never disagree.
 */
import type { Db, DbClient } from './db';
import type { Tick } from './tick';

export type AttemptState =
  'running' | 'succeeded' | 'failed' | 'abandoned' | 'skipped' | 'duplicate' | 'deferred';
export type TickState = 'running' | 'succeeded' | 'failed' | 'exhausted' | 'skipped';

export interface AttemptIdentity {
  readonly jobId: string;
  readonly tick: Tick;
  readonly now: Date;
  readonly executionId?: string;
  readonly trace?: string;
}

export type OpenedAttempt =
  | { readonly kind: 'run'; readonly attemptId: string; readonly attempt: number }
  | { readonly kind: 'duplicate'; readonly attemptId: string; readonly succeededAt: Date };

/**
 * Starts an attempt of the tick, or, when the tick already succeeded, records a duplicate instead.
 * Must be called with the job lock held.
 */
export async function openAttempt(
  client: DbClient,
  identity: AttemptIdentity,
  lock: { pid: number; deadlineAt: Date },
): Promise<OpenedAttempt> {
  const { rows } = await client.query<{
    id: string;
    attempt: number;
    state: AttemptState;
    succeeded_at: Date | null;
  }>({
    name: 'enx_jobs_open_attempt',
    text: `WITH tick AS (
       INSERT INTO enx_jobs_ticks AS t (job_id, tick_id, scheduled_at, manual, state, attempts, first_started_at)
       VALUES ($1, $2, $3, $4, 'running', 1, $5)
       ON CONFLICT (job_id, tick_id) DO UPDATE SET
         attempts = t.attempts + CASE WHEN t.state = 'succeeded' THEN 0 ELSE 1 END,
         state = CASE WHEN t.state = 'succeeded' THEN 'succeeded' ELSE 'running' END
       RETURNING t.state, t.attempts, t.succeeded_at
     )
     INSERT INTO enx_jobs_attempts
       (job_id, tick_id, attempt, state, started_at, finished_at, duration_ms, execution_id, trace, holder_pid, deadline_at)
     SELECT $1, $2,
            CASE WHEN tick.state = 'succeeded' THEN 0 ELSE tick.attempts END,
            CASE WHEN tick.state = 'succeeded' THEN 'duplicate' ELSE 'running' END,
            $5,
            CASE WHEN tick.state = 'succeeded' THEN $5::timestamptz END,
            CASE WHEN tick.state = 'succeeded' THEN 0 END,
            $6, $7,
            CASE WHEN tick.state = 'succeeded' THEN NULL ELSE $8::integer END,
            $9
       FROM tick
     RETURNING id, attempt, state, (SELECT succeeded_at FROM tick)`,
    values: [
      identity.jobId,
      identity.tick.id,
      identity.tick.scheduledAt,
      identity.tick.manual,
      identity.now,
      identity.executionId ?? null,
      identity.trace ?? null,
      lock.pid,
      lock.deadlineAt,
    ],
  });
  const row = rows[0];
  if (row.state === 'duplicate') {
    return { kind: 'duplicate', attemptId: row.id, succeededAt: row.succeeded_at ?? identity.now };
  }
  return { kind: 'run', attemptId: row.id, attempt: row.attempt };
}

export interface AttemptClose {
  readonly attemptId: string;
  readonly state: 'succeeded' | 'failed';
  readonly exhausted: boolean;
  readonly finishedAt: Date;
  readonly durationMs: number;
  readonly error?: string;
  readonly result?: unknown;
}

export async function closeAttempt(client: DbClient | Db, close: AttemptClose): Promise<void> {
  const tickState: TickState =
    close.state === 'succeeded' ? 'succeeded' : close.exhausted ? 'exhausted' : 'failed';
  await client.query({
    name: 'enx_jobs_close_attempt',
    text: `WITH attempt AS (
       UPDATE enx_jobs_attempts
          SET state = $2, finished_at = $3, duration_ms = $4, error = $5, result = $6, exhausted = $7
        WHERE id = $1
        RETURNING job_id, tick_id
     )
     UPDATE enx_jobs_ticks t
        SET state = $8, last_finished_at = $3, last_error = $5, result = $6,
            succeeded_at = CASE WHEN $8 = 'succeeded' THEN $3::timestamptz ELSE t.succeeded_at END
       FROM attempt
      WHERE t.job_id = attempt.job_id AND t.tick_id = attempt.tick_id`,
    values: [
      close.attemptId,
      close.state,
      close.finishedAt,
      Math.round(close.durationMs),
      close.error ?? null,
      close.result === undefined ? null : JSON.stringify(close.result),
      close.exhausted,
      tickState,
    ],
  });
}

export interface AbandonedAttempt {
  readonly tickId: string;
  readonly attempt: number;
  readonly exhausted: boolean;
  readonly startedAt: Date;
}

/**
 * Attempts still marked running while we hold the job lock cannot be running: their instance died
 * (crash, kill, lost connection) or was taken over. Marks them abandoned and their ticks failed, or
 * exhausted when it was the tick's last allowed attempt.
 */
export async function abandonOrphans(
  client: DbClient,
  jobId: string,
  now: Date,
  maxAttempts: number,
): Promise<AbandonedAttempt[]> {
  return abandonWhere(client, 'job_id = $1', jobId, now, maxAttempts, ORPHAN_ERROR);
}

const ORPHAN_ERROR =
  'the instance running this attempt stopped before it finished (crash, kill, lost connection or hang)';

/** Attempts still marked running past their deadline (plus graceMs): the watchdog's to settle. */
export async function findOverdueAttempts(
  db: Db,
  now: Date,
  graceMs: number,
): Promise<{ id: string; jobId: string; holderPid: number | null }[]> {
  const { rows } = await db.query<{ id: string; job_id: string; holder_pid: number | null }>(
    `SELECT id, job_id, holder_pid FROM enx_jobs_attempts
      WHERE state = 'running' AND deadline_at < $1::timestamptz - make_interval(secs => $2::double precision / 1000)
      ORDER BY id`,
    [now, graceMs],
  );
  return rows.map((row) => ({ id: row.id, jobId: row.job_id, holderPid: row.holder_pid }));
}

/** Marks one attempt abandoned, if it is still running (it may have finished meanwhile). */
export async function abandonAttempt(
  db: Db,
  attemptId: string,
  now: Date,
  maxAttempts: number,
  error: string,
): Promise<AbandonedAttempt | undefined> {
  return (await abandonWhere(db, 'id = $1', attemptId, now, maxAttempts, error))[0];
}

async function abandonWhere(
  db: Db | DbClient,
  condition: 'job_id = $1' | 'id = $1',
  key: string,
  now: Date,
  maxAttempts: number,
  error: string,
): Promise<AbandonedAttempt[]> {
  const { rows } = await db.query<{
    tick_id: string;
    attempt: number;
    exhausted: boolean;
    started_at: Date;
  }>(
    `WITH abandoned AS (
       UPDATE enx_jobs_attempts
          SET state = 'abandoned', finished_at = $2,
              duration_ms = GREATEST(0, EXTRACT(EPOCH FROM ($2::timestamptz - started_at)) * 1000)::integer,
              error = $4, exhausted = attempt >= $3
        WHERE ${condition} AND state = 'running'
        RETURNING job_id, tick_id, attempt, exhausted, started_at, error
     ), ticks AS (
       UPDATE enx_jobs_ticks t
          SET state = CASE WHEN abandoned.exhausted THEN 'exhausted' ELSE 'failed' END,
              last_finished_at = $2, last_error = abandoned.error
         FROM abandoned
        WHERE t.job_id = abandoned.job_id AND t.tick_id = abandoned.tick_id AND t.state = 'running'
     )
     SELECT tick_id, attempt, exhausted, started_at FROM abandoned`,
    [key, now, maxAttempts, error],
  );
  return rows.map((row) => ({
    tickId: row.tick_id,
    attempt: row.attempt,
    exhausted: row.exhausted,
    startedAt: row.started_at,
  }));
}

/** Records an answer that ran nothing: a skip (another tick holds the lock) or an in-progress duplicate. */
export async function recordNonRun(
  db: Db,
  identity: AttemptIdentity,
  state: 'skipped' | 'duplicate',
  reason: string,
): Promise<void> {
  await db.query(
    `WITH tick AS (
       INSERT INTO enx_jobs_ticks (job_id, tick_id, scheduled_at, manual, state, attempts, first_started_at, last_finished_at, last_error)
       SELECT $1, $2, $3, $4, 'skipped', 0, $5, $5, $8
        WHERE $6 = 'skipped'
       ON CONFLICT (job_id, tick_id) DO NOTHING
     )
     INSERT INTO enx_jobs_attempts (job_id, tick_id, attempt, state, started_at, finished_at, duration_ms, error, execution_id, trace)
     VALUES ($1, $2, 0, $6, $5, $5, 0, $8, $7, $9)`,
    [
      identity.jobId,
      identity.tick.id,
      identity.tick.scheduledAt,
      identity.tick.manual,
      identity.now,
      state,
      identity.executionId ?? null,
      reason,
      identity.trace ?? null,
    ],
  );
}

/**
 * Records a must-run tick turned away because another tick holds the lock. It uses up one of the
 * tick's scheduler attempts (the scheduler retries it), so the tick's attempt count grows and its
 * last allowed attempt exhausts it, as a failed one would. A tick that already succeeded is left
 * alone (attempt 0).
 */
export async function recordDeferral(
  db: Db,
  identity: AttemptIdentity,
  reason: string,
  maxAttempts: number,
): Promise<{ attempt: number; exhausted: boolean }> {
  const { rows } = await db.query<{ attempt: number; exhausted: boolean }>(
    `WITH tick AS (
       INSERT INTO enx_jobs_ticks AS t (job_id, tick_id, scheduled_at, manual, state, attempts, first_started_at, last_finished_at, last_error)
       VALUES ($1, $2, $3, $4, CASE WHEN $8::integer <= 1 THEN 'exhausted' ELSE 'failed' END, 1, $5, $5, $6)
       ON CONFLICT (job_id, tick_id) DO UPDATE SET
         attempts = t.attempts + 1,
         state = CASE WHEN t.attempts + 1 >= $8::integer THEN 'exhausted' ELSE 'failed' END,
         last_finished_at = $5, last_error = $6
       WHERE t.state <> 'succeeded'
       RETURNING t.attempts, t.state
     )
     INSERT INTO enx_jobs_attempts (job_id, tick_id, attempt, state, started_at, finished_at, duration_ms, error, exhausted, execution_id, trace)
     SELECT $1, $2, tick.attempts, 'deferred', $5, $5, 0, $6, tick.state = 'exhausted', $7, $9 FROM tick
     RETURNING attempt, exhausted`,
    [
      identity.jobId,
      identity.tick.id,
      identity.tick.scheduledAt,
      identity.tick.manual,
      identity.now,
      reason,
      identity.executionId ?? null,
      maxAttempts,
      identity.trace ?? null,
    ],
  );
  return rows[0] ?? { attempt: 0, exhausted: false };
}
