/**
 * Gauge points kept in the database (enx_jobs_gauges) until the fleet-watchdog writes them to Cloud
 * Monitoring: the latest value of each series, with the time it was observed.
 */
import type { Db } from '../core/db';
import type { MetricSpec } from '../alerts/metrics';
import { METRICS } from '../alerts/metrics';
import type { GaugePoint } from '../ports/gauges';

/**
 * Records each point as its series' latest value. A value observed before the stored one is
 * ignored: Cloud Monitoring takes a series' points in time order only.
 */
export async function recordGauges(db: Db, points: readonly GaugePoint[], now: Date): Promise<void> {
  if (points.length === 0) return;
  await db.query(
    `INSERT INTO enx_jobs_gauges AS g (job_id, metric, labels, value, observed_at, pending)
     SELECT job_id, metric, labels::jsonb, value, observed_at, true
     FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::timestamptz[])
       AS p(job_id, metric, labels, value, observed_at)
     ON CONFLICT (job_id, metric, labels) DO UPDATE
       SET value = excluded.value, observed_at = excluded.observed_at, pending = true
       WHERE excluded.observed_at >= g.observed_at`,
    [
      points.map((point) => point.jobId),
      points.map((point) => point.metric.type),
      points.map((point) => JSON.stringify(point.labels ?? {})),
      points.map((point) => point.value),
      points.map((point) => point.at ?? now),
    ],
  );
}

const METRIC_BY_TYPE = new Map<string, MetricSpec>(
  Object.values(METRICS).map((metric) => [metric.type, metric]),
);

/**
 * Takes every pending point: marks it written and returns it. A point recorded while this runs
 * waits for the next call (the row lock orders the two), so none is skipped. A row of a metric
 * this code does not know (left by an older version) is taken and dropped.
 */
export async function takePendingGauges(db: Db): Promise<GaugePoint[]> {
  const { rows } = await db.query<{
    job_id: string;
    metric: string;
    labels: Record<string, string>;
    value: number;
    observed_at: Date;
  }>(
    `UPDATE enx_jobs_gauges SET pending = false WHERE pending
     RETURNING job_id, metric, labels, value, observed_at`,
  );
  return rows.flatMap((row) => {
    const metric = METRIC_BY_TYPE.get(row.metric);
    if (!metric) return [];
    const labels = Object.keys(row.labels).length > 0 ? { labels: row.labels } : {};
    return [{ metric, jobId: row.job_id, value: row.value, at: row.observed_at, ...labels }];
  });
}
