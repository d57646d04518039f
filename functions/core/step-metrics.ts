/**
 * Per-step metrics a job writes at the end of its run (cleanup rows per step, e2e latency per step,
 * modeler anomalies), through the same gauge writer as the watchdog's gauges: Cloud Monitoring in
 * production, memory locally. A metric is a view of the run, never part of it: a failed write is a
 * warning in the log and the run's outcome stands.
 */
import type { MetricSpec } from '../alerts/metrics';
import type { GaugePoint } from '../ports/gauges';
import { describeError } from './errors';
import type { JobContext } from './job-spec';

/** One point per step, labelled `step`; the step names come from the job's own fixed set. */
export function stepPoints(
  metric: MetricSpec,
  jobId: string,
  values: Readonly<Record<string, number>>,
): GaugePoint[] {
  return Object.entries(values).map(([step, value]) => ({ metric, jobId, value, labels: { step } }));
}

export async function writeJobMetrics(context: JobContext, points: readonly GaugePoint[]): Promise<void> {
  if (points.length === 0) return;
  try {
    await context.adapters.gauges.write(points);
  } catch (error) {
    context.logger.warn(
      `could not write the run's metrics; the run's outcome is unaffected: ${describeError(error)}`,
      {
        event: 'metrics_write_failed',
      },
    );
  }
}
