/**
 * A deployed function's signals, kept in its own database: every attempt's counters
 * (enx_jobs_counters) and gauge points (enx_jobs_gauges). The fleet-watchdog writes them to Cloud
 * Monitoring every minute (jobs/fleet-watchdog), so no other function loads the Cloud Monitoring
 * client: on a cold start that client cost more than the rest of the runtime (docs/decisions.md,
 * "Cold start"). The metrics and the alerts on them are unchanged; they arrive up to a minute later.
 *
 * The runtime wraps every sink in `guarded`, so a failed write here is a warning, never a failed job.
 */
import type { Clock } from '../core/clock';
import type { Db } from '../core/db';
import type { AttemptFinished, AttemptStarted, RequestRefused, SignalSink } from '../core/signals';
import { METRICS } from '../alerts/metrics';
import type { GaugePoint, GaugeWriter } from '../ports/gauges';
import { incrementCounter } from './counters';
import { recordGauges } from './gauges';

export class StoredSignalSink implements SignalSink {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async attemptStarted(attempt: AttemptStarted): Promise<void> {
    await incrementCounter(this.db, attempt.jobId, 'started', this.clock.now());
  }

  async attemptFinished(attempt: AttemptFinished): Promise<void> {
    const now = this.clock.now();
    await incrementCounter(this.db, attempt.jobId, attempt.outcome, now);
    if (attempt.exhausted) await incrementCounter(this.db, attempt.jobId, 'exhausted', now);
    const points: GaugePoint[] = [];
    if (attempt.outcome === 'succeeded')
      points.push({ metric: METRICS.heartbeat, jobId: attempt.jobId, value: 1 });
    if (attempt.outcome !== 'skipped') {
      points.push({
        metric: METRICS.attemptDuration,
        jobId: attempt.jobId,
        value: attempt.durationMs / 1000,
        labels: { outcome: attempt.outcome },
      });
    }
    await recordGauges(this.db, points, now);
  }

  async requestRefused(refusal: RequestRefused): Promise<void> {
    await incrementCounter(this.db, refusal.jobId, `refused:${refusal.reason}`, this.clock.now());
  }
}

/** A job's per-step gauges, recorded for the watchdog to write. */
export class StoredGauges implements GaugeWriter {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async write(points: readonly GaugePoint[]): Promise<void> {
    await recordGauges(this.db, points, this.clock.now());
  }
}
