/**
 * Durable counters per job (enx_jobs_counters), read back with their start time for CUMULATIVE
 * metric points.
 */
import type { Db } from '../core/db';
import type { CounterName } from '../alerts/metrics';
import type { RefusalReason } from '../core/signals';

/** The attempt counters, and one refused-requests counter per reason (`refused:<reason>`). */
export type StoredCounterName = CounterName | `refused:${RefusalReason}`;

export interface CounterValue {
  readonly value: number;
  readonly startedAt: Date;
}

export async function incrementCounter(
  db: Db,
  jobId: string,
  name: StoredCounterName,
  now: Date,
): Promise<CounterValue> {
  const { rows } = await db.query<{ value: string; started_at: Date }>(
    `INSERT INTO enx_jobs_counters AS c (job_id, name, value, started_at, updated_at)
     VALUES ($1, $2, 1, $3, $3)
     ON CONFLICT (job_id, name) DO UPDATE SET value = c.value + 1, updated_at = $3
     RETURNING value::text, started_at`,
    [jobId, name, now],
  );
  return { value: Number(rows[0].value), startedAt: rows[0].started_at };
}

export interface StoredCounter extends CounterValue {
  readonly jobId: string;
  readonly name: StoredCounterName;
  /** When it last changed, which is when the runtime last wrote its series. */
  readonly updatedAt: Date;
}

export async function readCounters(db: Db): Promise<StoredCounter[]> {
  const { rows } = await db.query<{
    job_id: string;
    name: StoredCounterName;
    value: string;
    started_at: Date;
    updated_at: Date;
  }>('SELECT job_id, name, value::text, started_at, updated_at FROM enx_jobs_counters ORDER BY job_id, name');
  return rows.map((row) => ({
    jobId: row.job_id,
    name: row.name,
    value: Number(row.value),
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  }));
}
