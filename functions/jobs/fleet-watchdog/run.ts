/**
 * fleet-watchdog: every minute, reads the run ledger and writes, for every job of the catalog, how
 * late it is against its forward-progress window, how many of its attempts are overdue, and how
 * long the fleet has been idle. ForwardProgressFailed and JobProcessingStalled alert on these
 * gauges; the watchdog's own heartbeat is watched by absence (docs/signals.md).
 *
 * It is also the fleet's only writer to Cloud Monitoring: the other functions record their counters
 * and gauge points in the database (db/stored-signals.ts), and each run writes the points recorded
 * since the last one and every counter's total.
 */
import { catalog, fleetWatchdog } from '../../catalog';
import { evaluate, fleetIdleSeconds, forwardProgressRatio } from '../../alerts/evaluate';
import { METRICS } from '../../alerts/metrics';
import { ALERT_RULES } from '../../alerts/rules';
import { loadSnapshot } from '../../alerts/snapshot';
import type { GaugePoint } from '../../ports/gauges';
import type { JobContext, JobResult } from '../../core/job-spec';
import { ConfigError, describeError } from '../../core/errors';
import type { WatchdogConfig } from './config';
import { readCounters } from '../../db/counters';
import { takePendingGauges } from '../../db/gauges';
import { abandonOverdueAttempts } from './abandon';

/** The watchdog's id, for the local alert evaluator; the job itself reads its spec. */
export const WATCHDOG_JOB_ID = fleetWatchdog.id;

/** The stalled rule's history: the fleet counts as idle only if it did run within this period. */
const STALL_HISTORY_MS = (() => {
  const rule = ALERT_RULES.find((candidate) => candidate.condition.kind === 'stalled');
  return rule?.condition.kind === 'stalled' ? rule.condition.historyMs : 24 * 3_600_000;
})();

/** The catalog jobs this deployment runs; an unknown omitted id is a settings error, not a skip. */
export function watchedJobs(config: WatchdogConfig): (typeof catalog)[number][] {
  const ids = catalog.map((job) => job.id as string);
  const unknown = config.omittedJobs.filter((id) => !ids.includes(id));
  if (unknown.length > 0) {
    throw new ConfigError('fleet-watchdog', [
      `OMITTED_JOBS: ${unknown.join(', ')} not in the catalog; the job ids are ${ids.join(', ')}`,
    ]);
  }
  return catalog.filter((job) => !config.omittedJobs.includes(job.id));
}

export async function runWatchdog(context: JobContext, config: WatchdogConfig): Promise<JobResult> {
  const now = context.clock.now();
  const snapshot = await loadSnapshot(context.db, watchedJobs(config), now, {
    // The watchdog's gauges need no attempt history; the rate rules run on Cloud Monitoring's counters.
    lookbackMs: 0,
    excludedFromActivity: [context.spec.id],
  });
  const points: GaugePoint[] = [];
  const late: string[] = [];
  for (const job of snapshot.jobs) {
    const ratio = forwardProgressRatio(job, now);
    if (ratio > 1) late.push(job.jobId);
    points.push({ metric: METRICS.forwardProgress, jobId: job.jobId, value: Number(ratio.toFixed(4)) });
    points.push({ metric: METRICS.overdueAttempts, jobId: job.jobId, value: job.overdueAttempts });
  }
  const idle = fleetIdleSeconds(snapshot, STALL_HISTORY_MS);
  if (idle !== undefined)
    points.push({ metric: METRICS.fleetIdle, jobId: context.spec.id, value: Math.round(idle) });
  const metrics = context.adapters.metricsExport;
  // A failed write fails the watchdog: its missing heartbeat is then what pages.
  await metrics.write(points);
  // After the gauges, so this run's overdue gauge still shows what was overdue; the next run's
  // counter write carries the failures counted here.
  const abandoned = await abandonOverdueAttempts(context);
  const forwarded = await forwardRecordedGauges(context, now);
  // The counters feed the rate and refusal alerts; a failure is a warning and the next minute's
  // write carries the totals.
  let countersRefreshed = 0;
  try {
    countersRefreshed = await metrics.refreshCounters(await readCounters(context.db));
  } catch (error) {
    context.logger.warn(`could not write the counter series: ${describeError(error)}`, {
      event: 'metrics_write_failed',
    });
  }

  const firing = evaluate(ALERT_RULES, snapshot).filter(
    (verdict) =>
      verdict.firing &&
      (verdict.alertId === 'ForwardProgressFailed' || verdict.alertId === 'JobProcessingStalled'),
  );
  // INFO, not WARNING: the alert policy is what notifies; these lines are for the investigation.
  for (const verdict of firing) {
    context.logger.info(`${verdict.alertId} ${verdict.subject}: ${verdict.detail}`, {
      event: 'alert_condition',
      alert: verdict.alertId,
      subject: verdict.subject,
    });
  }
  return {
    late,
    overdueAttempts: snapshot.jobs.reduce((sum, job) => sum + job.overdueAttempts, 0),
    fleetIdleSeconds: idle === undefined ? null : Math.round(idle),
    gauges: points.length,
    recordedGaugesWritten: forwarded.written,
    recordedGaugesDropped: forwarded.dropped,
    countersRefreshed,
    abandonedAttempts: abandoned.length,
  };
}

/**
 * Cloud Monitoring refuses a point that ended more than 25 hours ago (TimeInterval, "Writes", in
 * the Monitoring API reference, read 2026-12-06); a point recorded while the watchdog was down that
 * long is dropped with a warning, and its series gets its next value.
 */
const OLDEST_WRITABLE_POINT_MS = 24 * 3_600_000;

/**
 * The points the functions recorded since the last run (heartbeats, attempt durations, per-step
 * gauges), each at the time it was observed. They are taken before they are written, so a write
 * that fails loses them with a warning, as a failed write from the function itself would have: a
 * gauge is a latest value, and its next observation replaces it.
 */
async function forwardRecordedGauges(
  context: JobContext,
  now: Date,
): Promise<{ written: number; dropped: number }> {
  const taken = await takePendingGauges(context.db);
  const writable = taken.filter(
    (point) => now.getTime() - (point.at ?? now).getTime() < OLDEST_WRITABLE_POINT_MS,
  );
  const dropped = taken.length - writable.length;
  if (dropped > 0) {
    context.logger.warn(
      `dropped ${dropped} recorded gauge points older than 24 h, which Cloud Monitoring refuses`,
      {
        event: 'metrics_write_failed',
      },
    );
  }
  try {
    await context.adapters.metricsExport.write(writable);
    return { written: writable.length, dropped };
  } catch (error) {
    context.logger.warn(`could not write ${writable.length} recorded gauge points: ${describeError(error)}`, {
      event: 'metrics_write_failed',
    });
    return { written: 0, dropped: taken.length };
  }
}
