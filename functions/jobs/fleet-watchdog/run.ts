/**
 * fleet-watchdog: every minute, reads the run ledger and writes, for every job of the catalog, how
 * late it is against its forward-progress window, how many of its attempts are overdue, and how
 * long the fleet has been idle. ForwardProgressFailed and JobProcessingStalled alert on these
 * gauges; the watchdog's own heartbeat is watched by absence (docs/signals.md).
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
  // A failed write fails the watchdog: its missing heartbeat is then what pages.
  await context.adapters.gauges.write(points);
  // After the gauges, so this run's overdue gauge still shows what was overdue; the next run's
  // counter refresh carries the failures counted here.
  const abandoned = await abandonOverdueAttempts(context);
  // Keeping the counters dense only helps the rate alerts; its failure is a warning.
  let countersRefreshed = 0;
  try {
    countersRefreshed = await context.adapters.gauges.refreshCounters(await readCounters(context.db));
  } catch (error) {
    context.logger.warn(`could not refresh the counter series: ${describeError(error)}`, {
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
    countersRefreshed,
    abandonedAttempts: abandoned.length,
  };
}
