/**
 * Gauge points on their way to Cloud Monitoring, and the one way out to it.
 *
 * - GaugeWriter: where a job's per-step gauges go at the end of its run (core/step-metrics.ts). In a
 *   deployed function that is the database (db/stored-signals.ts); locally, memory.
 * - MetricsExport: what the fleet-watchdog writes to Cloud Monitoring every minute: its own gauges
 *   from the ledger, the points the functions recorded in the database, and every counter. Only
 *   the watchdog declares it, so only its archive holds the Cloud Monitoring client.
 */
import type { MetricSpec } from '../alerts/metrics';
import type { StoredCounter } from '../db/counters';

export interface GaugePoint {
  readonly metric: MetricSpec;
  readonly jobId: string;
  readonly value: number;
  /** Metric labels, from the metric's declared keys with values from a fixed set (say a step name). */
  readonly labels?: Readonly<Record<string, string>>;
  /** When the value was observed; the time of the write when absent. */
  readonly at?: Date;
}

function seriesKey(metricType: string, jobId: string, labels: Readonly<Record<string, string>> = {}): string {
  const labelText = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
  return `${metricType}|${jobId}|${labelText}`;
}

export interface GaugeWriter {
  write(points: readonly GaugePoint[]): Promise<void>;
}

export interface MetricsExport extends GaugeWriter {
  /**
   * Writes every counter series again with its current total, so each has a point a minute
   * however rarely its job runs: rate conditions over a few minutes need two points in range.
   * Returns how many series were written.
   */
  refreshCounters(counters: readonly StoredCounter[]): Promise<number>;
}

/** Keeps the latest value of each gauge in memory. */
export class LocalGauges implements MetricsExport {
  readonly latest = new Map<string, { value: number; writtenAt: Date }>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async write(points: readonly GaugePoint[]): Promise<void> {
    for (const point of points) {
      this.latest.set(seriesKey(point.metric.type, point.jobId, point.labels), {
        value: point.value,
        writtenAt: point.at ?? this.now(),
      });
    }
  }

  /** Locally the evaluator reads the ledger itself; there is nothing to keep dense. */
  async refreshCounters(): Promise<number> {
    return 0;
  }

  get(metricType: string, jobId: string, labels?: Readonly<Record<string, string>>): number | undefined {
    return this.latest.get(seriesKey(metricType, jobId, labels))?.value;
  }
}
