/**
 * The path of a function's signals to Cloud Monitoring: the function records counters and gauge
 * points in its database (StoredSignalSink, StoredGauges), and the fleet-watchdog's
 * CloudMonitoringExport writes them to a loopback MetricService on the REST transport, built from
 * the protos @google-cloud/monitoring ships; the real client library sends the requests.
 */
import { CloudMonitoringExport } from '../../functions/adapters/cloud-monitoring-export';
import { createMonitoringWriter } from '../../functions/adapters/monitoring-writer';
import { GoogleApiError } from '../../functions/adapters/google-errors';
import { METRICS } from '../../functions/alerts/metrics';
import { createLogger } from '../../functions/core/logger';
import { guarded } from '../../functions/core/signals';
import type { Db } from '../../functions/core/db';
import { readCounters } from '../../functions/db/counters';
import { recordGauges, takePendingGauges } from '../../functions/db/gauges';
import { StoredGauges, StoredSignalSink } from '../../functions/db/stored-signals';
import type { GaugePoint } from '../../functions/ports/gauges';
import { ManualClock } from '../support/manual-clock';
import { memoryWriter } from '../support/memory-writer';
import { startFakeMetricService } from '../../local/fake-google/metric-service';
import type { FakeMetricService } from '../../local/fake-google/metric-service';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

const START = new Date('2026-11-23T20:00:00.000Z');
const JOB = 'cleanup-worker';

const resource = {
  type: 'generic_task',
  labels: {
    project_id: 'enx-test-project',
    location: 'us-central1',
    namespace: 'enx-jobs',
    job: JOB,
    task_id: 'fleet',
  },
};
/** A Timestamp as the stand-in records it: proto3 JSON leaves out zero nanos. */
const at = (date: Date) => {
  const nanos = (date.getTime() % 1000) * 1e6;
  return { seconds: String(Math.floor(date.getTime() / 1000)), ...(nanos ? { nanos } : {}) };
};
type Series = Record<string, unknown> & { metric: { type: string; labels?: Record<string, string> } };
const int = (value: number) => ({ int64Value: String(value), value: 'int64Value' });

describe('signals recorded by the functions, written by the watchdog', () => {
  let db: TestDatabase;
  let fake: FakeMetricService;
  let writer: Awaited<ReturnType<typeof createMonitoringWriter>>;
  let clock: ManualClock;
  let sink: StoredSignalSink;
  let monitoring: CloudMonitoringExport;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeMetricService({ now: () => clock.now().getTime() });
    // The writer the watchdog uses (functions/wiring.ts), pointed at the stand-in.
    writer = await createMonitoringWriter({
      projectId: 'enx-test-project',
      endpoint: `127.0.0.1:${fake.port}`,
    });
  });
  afterAll(async () => {
    await writer.close();
    await fake.close();
    await db.drop();
  });
  beforeEach(async () => {
    fake.reset();
    await db.pool.query('DELETE FROM enx_jobs_counters; DELETE FROM enx_jobs_gauges');
    clock = new ManualClock(START);
    sink = new StoredSignalSink(db.pool, clock);
    monitoring = new CloudMonitoringExport(
      writer,
      { projectId: 'enx-test-project', location: 'us-central1' },
      clock,
    );
  });

  const finished = (outcome: 'succeeded' | 'failed' | 'skipped', exhausted = false) => ({
    jobId: JOB,
    tickId: '2026-11-23T20:00:00.000Z',
    attempt: 1,
    startedAt: START,
    finishedAt: clock.now(),
    durationMs: 1500,
    outcome,
    exhausted,
  });
  /** What the watchdog does each minute: the recorded points, then every counter. */
  const forward = async () => {
    await monitoring.write(await takePendingGauges(db.pool));
    await monitoring.refreshCounters(await readCounters(db.pool));
  };
  const written = (): Series[] => fake.requests.flatMap((request) => request.timeSeries as Series[]);
  const find = (type: string, labels?: Record<string, string>) =>
    written().find(
      (series) =>
        series.metric.type === type && JSON.stringify(series.metric.labels) === JSON.stringify(labels),
    );

  it('records an attempt in the database and sends nothing from the function itself', async () => {
    await sink.attemptStarted({ jobId: JOB, tickId: 't', attempt: 1, startedAt: START });
    clock.advance(1500);
    await sink.attemptFinished(finished('succeeded'));
    expect(fake.requests).toEqual([]);
    const counters = await readCounters(db.pool);
    expect(counters.map((counter) => [counter.name, counter.value])).toEqual([
      ['started', 1],
      ['succeeded', 1],
    ]);
  });

  it('writes the heartbeat and duration at the time of the success, and the counters with their start', async () => {
    await sink.attemptStarted({ jobId: JOB, tickId: 't', attempt: 1, startedAt: START });
    clock.advance(1500);
    const succeededAt = clock.now();
    await sink.attemptFinished(finished('succeeded'));
    clock.advance(40_000);
    await forward();
    expect(find(METRICS.heartbeat.type)).toEqual({
      metric: { type: METRICS.heartbeat.type },
      resource,
      metricKind: 'GAUGE',
      valueType: 'INT64',
      points: [{ interval: { endTime: at(succeededAt) }, value: int(1) }],
    });
    expect(find(METRICS.attemptDuration.type, { outcome: 'succeeded' })).toMatchObject({
      valueType: 'DOUBLE',
      points: [{ interval: { endTime: at(succeededAt) }, value: { doubleValue: 1.5 } }],
    });
    expect(find(METRICS.attempts.type, { outcome: 'succeeded' })).toEqual({
      metric: { type: METRICS.attempts.type, labels: { outcome: 'succeeded' } },
      resource,
      metricKind: 'CUMULATIVE',
      valueType: 'INT64',
      points: [{ interval: { startTime: at(succeededAt), endTime: at(clock.now()) }, value: int(1) }],
    });
    expect(find(METRICS.attemptsStarted.type)).toMatchObject({
      points: [{ interval: { startTime: at(START), endTime: at(clock.now()) }, value: int(1) }],
    });
  });

  it('counts failures cumulatively and exhausted ticks, without a heartbeat', async () => {
    await sink.attemptFinished(finished('failed'));
    clock.advance(60_000);
    await sink.attemptFinished(finished('failed', true));
    clock.advance(1_000);
    await forward();
    expect(find(METRICS.heartbeat.type)).toBeUndefined();
    expect(find(METRICS.attempts.type, { outcome: 'failed' })).toMatchObject({
      points: [{ interval: { startTime: at(START) }, value: int(2) }],
    });
    expect(find(METRICS.exhaustedTicks.type)).toMatchObject({ points: [{ value: int(1) }] });
  });

  it('records only the skipped count for a skip or a duplicate', async () => {
    await sink.attemptFinished(finished('skipped'));
    clock.advance(1_000);
    await forward();
    expect(written().map((series) => [series.metric.type, series.metric.labels])).toEqual([
      [METRICS.attempts.type, { outcome: 'skipped' }],
    ]);
  });

  it('counts refused requests per reason', async () => {
    await sink.requestRefused({ jobId: JOB, reason: 'tick', at: clock.now() });
    await sink.requestRefused({ jobId: JOB, reason: 'tick', at: clock.now() });
    await sink.requestRefused({ jobId: JOB, reason: 'auth', at: clock.now() });
    clock.advance(1_000);
    await forward();
    expect(
      written().map((series) => [series.metric.labels, (series.points as { value: unknown }[])[0].value]),
    ).toEqual([
      [{ reason: 'auth' }, int(1)],
      [{ reason: 'tick' }, int(2)],
    ]);
  });

  it('writes each recorded point once, and only the latest value of a series', async () => {
    const gauges = new StoredGauges(db.pool, clock);
    const rows = (value: number): GaugePoint[] => [
      { metric: METRICS.cleanupRows, jobId: JOB, value, labels: { step: 'VERIFICATION_CODE' } },
    ];
    await gauges.write(rows(5));
    clock.advance(300_000);
    await gauges.write(rows(7));
    // A value observed before the stored one (a slow instance) does not replace it.
    await recordGauges(db.pool, rows(6), START);
    await monitoring.write(await takePendingGauges(db.pool));
    expect(written()).toEqual([
      expect.objectContaining({
        metric: { type: METRICS.cleanupRows.type, labels: { step: 'VERIFICATION_CODE' } },
        points: [{ interval: { endTime: at(clock.now()) }, value: int(7) }],
      }),
    ]);
    expect(await takePendingGauges(db.pool)).toEqual([]);
  });

  it('splits more than 200 series into requests Cloud Monitoring takes', async () => {
    const points: GaugePoint[] = Array.from({ length: 450 }, (_, index) => ({
      metric: METRICS.cleanupRows,
      jobId: JOB,
      value: index,
      labels: { step: `STEP_${index}` },
    }));
    await monitoring.write(points);
    expect(fake.requests.map((request) => request.timeSeries.length)).toEqual([200, 200, 50]);
  });

  it('turns a failed record into a warning, never an error', async () => {
    const logs = memoryWriter();
    const down: Db = { query: () => Promise.reject(new Error('connection terminated')) } as unknown as Db;
    const safe = guarded(new StoredSignalSink(down, clock), createLogger({ write: logs.write }));
    await expect(safe.attemptFinished(finished('succeeded'))).resolves.toBeUndefined();
    expect(logs.entries()).toEqual([
      expect.objectContaining({ severity: 'WARNING', event: 'metrics_write_failed', job: JOB }),
    ]);
  });

  it('names the role to grant when Cloud Monitoring refuses the service account', async () => {
    fake.failNext(1, 7, 'Permission monitoring.timeSeries.create denied (or the resource may not exist).');
    const refused = monitoring.write([{ metric: METRICS.heartbeat, jobId: JOB, value: 1 }]);
    await expect(refused).rejects.toThrow(GoogleApiError);
    await expect(refused).rejects.toThrow(
      'Cloud Monitoring refused to write time series to projects/enx-test-project: the service account lacks roles/monitoring.metricWriter on projects/enx-test-project (Cloud Monitoring said: Permission monitoring.timeSeries.create denied (or the resource may not exist).)',
    );
  });

  it('says an unavailable Cloud Monitoring is transient', async () => {
    fake.failNext(1, 14, 'The service is currently unavailable.');
    await expect(
      monitoring.write([{ metric: METRICS.heartbeat, jobId: JOB, value: 1 }]),
    ).rejects.toMatchObject({
      kind: 'transient',
      transient: true,
    });
  });

  it('carries the running total in the next write after a refused one', async () => {
    await sink.attemptFinished(finished('failed'));
    fake.failNext(1, 3, 'written more frequently than the maximum sampling period');
    await expect(monitoring.refreshCounters(await readCounters(db.pool))).rejects.toThrow();
    await sink.attemptFinished(finished('failed'));
    clock.advance(60_000);
    await monitoring.refreshCounters(await readCounters(db.pool));
    expect(find(METRICS.attempts.type, { outcome: 'failed' })).toMatchObject({ points: [{ value: int(2) }] });
  });
});
