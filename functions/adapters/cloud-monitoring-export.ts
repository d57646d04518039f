/**
 * The signal sink for Cloud Monitoring: at the start and at the end of each attempt, one
 * createTimeSeries call carrying every series that changed (see functions/alerts/metrics.ts and
 * docs/metrics.md). Counter values come from the database, so a write that Cloud Monitoring refuses
 * (two writes of one series within its sampling period) loses nothing: the next write carries the
 * running total. The runtime wraps every sink in `guarded`, so a failed write is a warning in the
 * log and never a failed job.
 */
import type { protos } from '@google-cloud/monitoring';
import type { Clock } from '../core/clock';
import type { Db } from '../core/db';
import type { AttemptFinished, AttemptStarted, RequestRefused, SignalSink } from '../core/signals';
import { incrementCounter } from '../db/counters';
import type { CounterValue, StoredCounter, StoredCounterName } from '../db/counters';
import { METRICS, RESOURCE_NAMESPACE, RESOURCE_TASK_ID, RESOURCE_TYPE } from '../alerts/metrics';
import type { MetricSpec } from '../alerts/metrics';
import type { GaugePoint, GaugeWriter } from '../ports/gauges';

type TimeSeries = protos.google.monitoring.v3.ITimeSeries;
type CreateTimeSeriesRequest = protos.google.monitoring.v3.ICreateTimeSeriesRequest;

/** The one method of MetricServiceClient the sink uses; tests can hand in the real client. */
export interface TimeSeriesWriter {
  createTimeSeries(request: CreateTimeSeriesRequest): Promise<unknown>;
}

export interface MonitoringTarget {
  readonly projectId: string;
  /** The region the functions run in; a resource label of every series. */
  readonly location: string;
}

function timestamp(date: Date): protos.google.protobuf.ITimestamp {
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** Leave alone a counter series the runtime wrote less than this long ago. */
const COUNTER_REFRESH_MIN_AGE_MS = 15_000;

function metricOf(metric: MetricSpec, labels: Record<string, string>): protos.google.api.IMetric {
  return Object.keys(labels).length > 0 ? { type: metric.type, labels } : { type: metric.type };
}

/** Which metric, with which labels, a stored counter feeds. */
function counterSeries(name: StoredCounterName): { metric: MetricSpec; labels: Record<string, string> } {
  if (name.startsWith('refused:'))
    return { metric: METRICS.refusedRequests, labels: { reason: name.slice('refused:'.length) } };
  if (name === 'started') return { metric: METRICS.attemptsStarted, labels: {} };
  if (name === 'exhausted') return { metric: METRICS.exhaustedTicks, labels: {} };
  return { metric: METRICS.attempts, labels: { outcome: name } };
}

export class CloudMonitoringSink implements SignalSink, GaugeWriter {
  constructor(
    private readonly writer: TimeSeriesWriter,
    private readonly target: MonitoringTarget,
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async attemptStarted(attempt: AttemptStarted): Promise<void> {
    const now = this.clock.now();
    const started = await incrementCounter(this.db, attempt.jobId, 'started', now);
    await this.send([this.cumulative(METRICS.attemptsStarted, attempt.jobId, {}, started, now)]);
  }

  async attemptFinished(attempt: AttemptFinished): Promise<void> {
    const now = this.clock.now();
    const series: TimeSeries[] = [];
    const count = await incrementCounter(this.db, attempt.jobId, attempt.outcome, now);
    series.push(this.cumulative(METRICS.attempts, attempt.jobId, { outcome: attempt.outcome }, count, now));
    if (attempt.outcome === 'succeeded') {
      series.push(this.gauge(METRICS.heartbeat, attempt.jobId, {}, { int64Value: 1 }, now));
    }
    if (attempt.outcome !== 'skipped') {
      series.push(
        this.gauge(
          METRICS.attemptDuration,
          attempt.jobId,
          { outcome: attempt.outcome },
          {
            doubleValue: attempt.durationMs / 1000,
          },
          now,
        ),
      );
    }
    if (attempt.exhausted) {
      const exhausted = await incrementCounter(this.db, attempt.jobId, 'exhausted', now);
      series.push(this.cumulative(METRICS.exhaustedTicks, attempt.jobId, {}, exhausted, now));
    }
    await this.send(series);
  }

  /**
   * One refusal: the per-reason counter in the database, then its series. A burst of refusals
   * writes the series faster than Cloud Monitoring takes points; the refused writes are warnings
   * (the runtime guards every sink) and the next write, or the watchdog's refresh, carries the total.
   */
  async requestRefused(signal: RequestRefused): Promise<void> {
    const now = this.clock.now();
    const count = await incrementCounter(this.db, signal.jobId, `refused:${signal.reason}`, now);
    await this.send([
      this.cumulative(METRICS.refusedRequests, signal.jobId, { reason: signal.reason }, count, now),
    ]);
  }

  /** Gauges written by the watchdog go through the same request shape. */
  async write(points: readonly GaugePoint[]): Promise<void> {
    const now = this.clock.now();
    await this.send(
      points.map((point) =>
        this.gauge(
          point.metric,
          point.jobId,
          { ...point.labels },
          point.metric.valueType === 'INT64' ? { int64Value: point.value } : { doubleValue: point.value },
          now,
        ),
      ),
    );
  }

  async refreshCounters(counters: readonly StoredCounter[]): Promise<number> {
    const now = this.clock.now();
    const series = counters
      // A series the runtime wrote moments ago would be refused (sampling period); it is fresh anyway.
      .filter((counter) => now.getTime() - counter.updatedAt.getTime() >= COUNTER_REFRESH_MIN_AGE_MS)
      .map((counter) => {
        const { metric, labels } = counterSeries(counter.name);
        return this.cumulative(metric, counter.jobId, labels, counter, now);
      });
    // Cloud Monitoring takes at most 200 series per request.
    for (let start = 0; start < series.length; start += 200)
      await this.send(series.slice(start, start + 200));
    return series.length;
  }

  private async send(timeSeries: TimeSeries[]): Promise<void> {
    if (timeSeries.length === 0) return;
    await this.writer.createTimeSeries({ name: `projects/${this.target.projectId}`, timeSeries });
  }

  private resource(jobId: string): protos.google.api.IMonitoredResource {
    return {
      type: RESOURCE_TYPE,
      labels: {
        project_id: this.target.projectId,
        location: this.target.location,
        namespace: RESOURCE_NAMESPACE,
        job: jobId,
        task_id: RESOURCE_TASK_ID,
      },
    };
  }

  private cumulative(
    metric: MetricSpec,
    jobId: string,
    labels: Record<string, string>,
    counter: CounterValue,
    now: Date,
  ): TimeSeries {
    // A CUMULATIVE point's end must be after its start; a counter created this very millisecond
    // would otherwise be rejected.
    const end = now.getTime() > counter.startedAt.getTime() ? now : new Date(counter.startedAt.getTime() + 1);
    return {
      metric: metricOf(metric, labels),
      resource: this.resource(jobId),
      metricKind: 'CUMULATIVE',
      valueType: 'INT64',
      points: [
        {
          interval: { startTime: timestamp(counter.startedAt), endTime: timestamp(end) },
          value: { int64Value: counter.value },
        },
      ],
    };
  }

  private gauge(
    metric: MetricSpec,
    jobId: string,
    labels: Record<string, string>,
    value: protos.google.monitoring.v3.ITypedValue,
    now: Date,
  ): TimeSeries {
    return {
      metric: metricOf(metric, labels),
      resource: this.resource(jobId),
      metricKind: 'GAUGE',
      valueType: metric.valueType,
      points: [{ interval: { endTime: timestamp(now) }, value }],
    };
  }
}
