/**
 * At most one attempt of a job runs at a time. The lock is a Postgres session advisory lock held on
 * a dedicated connection for the attempt's whole run:
 * - a failed or finished attempt unlocks at once, so Cloud Scheduler's retries really retry;
 * - a crashed or killed holder loses its connection and Postgres drops the lock with it;
 * - a holder that is alive but hung (its connection open, its process frozen) is taken over once its
 *   attempt is past its deadline: the next attempt terminates the holder's backend.
 * So a dead holder never blocks the job for longer than its attempt deadline.
 */
import type { Db, DbClient } from './db';

/** First key of every job lock; the second is hashtext(job id). Distinct from the migration lock. */
const JOB_LOCK_NAMESPACE = 0x656e786b;
/** Slack on the holder's deadline before we call it hung; covers clock skew between instances. */
export const TAKEOVER_GRACE_MS = 30_000;
/** How long to wait for a holder to show which tick it runs (it writes its attempt row at once). */
const HOLDER_SETTLE_MS = 2_000;
const HOLDER_POLL_MS = 25;

export interface JobLock {
  readonly client: DbClient;
  /** pg_backend_pid() of the lock's connection, recorded on the attempt row. */
  readonly pid: number;
  /**
   * Some attempt of the job was still marked running when the lock was taken: with the lock held
   * it cannot be running, so the handler settles it (abandonOrphans). False on almost every call.
   */
  readonly mayHaveOrphans: boolean;
  release(): Promise<void>;
}

export interface LockHolder {
  readonly pid: number;
  readonly tickId?: string;
  readonly attemptId?: string;
  readonly deadlineAt?: Date;
}

export type LockResult =
  | { readonly acquired: true; readonly lock: JobLock }
  | { readonly acquired: false; readonly holder?: LockHolder; readonly tookOver?: undefined };

export interface LockEvents {
  /** Called when a hung holder's backend is terminated. */
  onTakeover?(holder: LockHolder): void;
}

export async function acquireJobLock(
  db: Db,
  jobId: string,
  now: Date,
  events: LockEvents = {},
): Promise<LockResult> {
  const client = await db.connect();
  try {
    const settleBy = Date.now() + HOLDER_SETTLE_MS;
    let tookOver = false;
    for (;;) {
      // One round trip takes the lock and tells whether any attempt of the job is still marked
      // running; only then does the handler spend a statement settling orphans. A prepared
      // (named) statement: this runs on every invocation.
      const { rows } = await client.query<{ ok: boolean; pid: number; orphans: boolean }>({
        name: 'enx_jobs_try_lock',
        text: `SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok, pg_backend_pid() AS pid,
                      EXISTS (SELECT 1 FROM enx_jobs_attempts WHERE job_id = $2 AND state = 'running') AS orphans`,
        values: [JOB_LOCK_NAMESPACE, jobId],
      });
      if (rows[0].ok) return { acquired: true, lock: heldLock(client, rows[0].pid, jobId, rows[0].orphans) };

      const holder = await findHolder(client, jobId);
      const hung =
        holder?.deadlineAt !== undefined && holder.deadlineAt.getTime() + TAKEOVER_GRACE_MS < now.getTime();
      if (holder && hung && !tookOver) {
        tookOver = true;
        events.onTakeover?.(holder);
        await client.query('SELECT pg_terminate_backend($1)', [holder.pid]);
        await waitForBackendToEnd(client, holder.pid);
        continue;
      }
      if (holder?.tickId !== undefined || Date.now() >= settleBy) {
        client.release();
        return { acquired: false, holder };
      }
      // No holder: it unlocked between our two queries, so try again at once. A holder without a
      // running attempt has just taken the lock and not yet written its row, or has just closed its
      // row and not yet unlocked; which tick it runs (if any) is known a moment later. Answering now
      // would call a delivery of the same tick "another tick".
      if (holder) await new Promise((resolve) => setTimeout(resolve, HOLDER_POLL_MS));
    }
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

function heldLock(client: DbClient, pid: number, jobId: string, mayHaveOrphans: boolean): JobLock {
  let released = false;
  // The pool stops listening for errors on a checked-out client, and the lock's client sits idle
  // for the whole run. If its backend is terminated meanwhile (takeover, failover), pg emits
  // 'error', and with no listener that is an uncaught exception. The loss needs no action here:
  // the attempt's next ledger write and the release below see it.
  const onLost = () => undefined;
  client.on('error', onLost);
  return {
    client,
    pid,
    mayHaveOrphans,
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query({
          name: 'enx_jobs_unlock',
          text: 'SELECT pg_advisory_unlock($1, hashtext($2))',
          values: [JOB_LOCK_NAMESPACE, jobId],
        });
        client.removeListener('error', onLost);
        client.release();
      } catch (error) {
        client.removeListener('error', onLost);
        // Destroying the connection drops the lock just as surely.
        client.release(error as Error);
      }
    },
  };
}

/**
 * Ends the connection of a hung attempt that still holds the job lock, so the lock is free and the
 * attempt can be recorded as abandoned without anything still running under it. Only a backend
 * that holds this job's lock is terminated. Returns whether one was.
 */
export async function terminateHungHolder(db: Db, jobId: string, pid: number): Promise<boolean> {
  const client = await db.connect();
  try {
    const holder = await findHolder(client, jobId);
    if (holder?.pid !== pid) return false;
    await client.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitForBackendToEnd(client, pid);
    return true;
  } finally {
    client.release();
  }
}

async function findHolder(client: DbClient, jobId: string): Promise<LockHolder | undefined> {
  const { rows } = await client.query<{
    pid: number;
    id: string | null;
    tick_id: string | null;
    deadline_at: Date | null;
  }>(
    `SELECT l.pid, a.id, a.tick_id, a.deadline_at
       FROM pg_locks l
       LEFT JOIN LATERAL (
         SELECT id, tick_id, deadline_at FROM enx_jobs_attempts
          WHERE job_id = $2 AND holder_pid = l.pid AND state = 'running'
          ORDER BY id DESC LIMIT 1
       ) a ON true
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
        AND l.classid = $1::bigint::oid
        AND l.objid = ((hashtext($2)::bigint + 4294967296) % 4294967296)::oid
      LIMIT 1`,
    [JOB_LOCK_NAMESPACE, jobId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    attemptId: row.id ?? undefined,
    tickId: row.tick_id ?? undefined,
    deadlineAt: row.deadline_at ?? undefined,
  };
}

/**
 * How long a terminated backend gets to exit before the caller goes on without it. A backend
 * exits within milliseconds on an idle server; on a loaded one it must first be scheduled, and
 * 2 s once proved too short for the watchdog's test on a busy CI machine. The path is rare (a
 * hung attempt), so waiting longer costs nothing in the common case.
 */
const BACKEND_EXIT_WAIT_MS = 10_000;

async function waitForBackendToEnd(client: DbClient, pid: number): Promise<void> {
  const until = Date.now() + BACKEND_EXIT_WAIT_MS;
  while (Date.now() < until) {
    const { rowCount } = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (!rowCount) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
