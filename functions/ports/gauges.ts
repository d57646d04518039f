/**
 * Gauges the watchdog computes from the ledger, and the per-step gauges jobs write at the end of a
 * run (core/step-metrics.ts), on their way to Cloud Monitoring (or, locally, to memory for the
 * status page and the evaluator).
 */
import type { MetricSpec } from '../alerts/metrics';
import type { StoredCounter } from '../db/counters';

export interface GaugePoint {
  readonly metric: MetricSpec;
  readonly jobId: string;
  readonly value: number;
  /** Metric labels, from the metric's declared keys with values from a fixed set (say a step name). */
  readonly labels?: Readonly<Record<string, string>>;
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
  /**
   * Writes every counter series again with its current total, so each has a point a minute
   * however rarely its job runs: rate conditions over a few minutes need two points in range.
   * Returns how many series were written.
   */
  refreshCounters(counters: readonly StoredCounter[]): Promise<number>;
}

/** Keeps the latest value of each gauge in memory. */
export class LocalGauges implements GaugeWriter {
  readonly latest = new Map<string, { value: number; writtenAt: Date }>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  async write(points: readonly GaugePoint[]): Promise<void> {
    for (const point of points) {
      this.latest.set(seriesKey(point.metric.type, point.jobId, point.labels), {
        value: point.value,
        writtenAt: this.now(),
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
