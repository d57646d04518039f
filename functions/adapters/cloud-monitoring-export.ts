/**
 * The fleet's way out to Cloud Monitoring, used by the fleet-watchdog alone: gauge points (its own,
 * and those the functions recorded in the database with the time they were observed) and every
 * counter series with its running total from the database (see functions/alerts/metrics.ts and
 * docs/signals.md). Counter values come from the database, so a write that Cloud Monitoring
 * refuses loses nothing: the next minute's write carries the total.
 */
import type { protos } from '@google-cloud/monitoring';
import type { Clock } from '../core/clock';
import type { CounterValue, StoredCounter, StoredCounterName } from '../db/counters';
import { METRICS, RESOURCE_NAMESPACE, RESOURCE_TASK_ID, RESOURCE_TYPE } from '../alerts/metrics';
import type { MetricSpec } from '../alerts/metrics';
import type { GaugePoint, MetricsExport } from '../ports/gauges';

type TimeSeries = protos.google.monitoring.v3.ITimeSeries;
type CreateTimeSeriesRequest = protos.google.monitoring.v3.ICreateTimeSeriesRequest;

/** The one method of MetricServiceClient the export uses; tests can hand in the real client. */
export interface TimeSeriesWriter {
  createTimeSeries(request: CreateTimeSeriesRequest): Promise<unknown>;
  close?(): Promise<void>;
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

/** Cloud Monitoring takes at most 200 series per createTimeSeries request. */
const SERIES_PER_REQUEST = 200;

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

export class CloudMonitoringExport implements MetricsExport {
  constructor(
    private readonly writer: TimeSeriesWriter,
    private readonly target: MonitoringTarget,
    private readonly clock: Clock,
  ) {}

  /** One point per series, at the time it was observed (or now). */
  async write(points: readonly GaugePoint[]): Promise<void> {
    const now = this.clock.now();
    await this.send(
      points.map((point) =>
        this.gauge(
          point.metric,
          point.jobId,
          { ...point.labels },
          point.metric.valueType === 'INT64' ? { int64Value: point.value } : { doubleValue: point.value },
          point.at ?? now,
        ),
      ),
    );
  }

  async refreshCounters(counters: readonly StoredCounter[]): Promise<number> {
    const now = this.clock.now();
    const series = counters.map((counter) => {
      const { metric, labels } = counterSeries(counter.name);
      return this.cumulative(metric, counter.jobId, labels, counter, now);
    });
    await this.send(series);
    return series.length;
  }

  async close(): Promise<void> {
    await this.writer.close?.();
  }

  private async send(timeSeries: TimeSeries[]): Promise<void> {
    for (let start = 0; start < timeSeries.length; start += SERIES_PER_REQUEST) {
      await this.writer.createTimeSeries({
        name: `projects/${this.target.projectId}`,
        timeSeries: timeSeries.slice(start, start + SERIES_PER_REQUEST),
      });
    }
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
