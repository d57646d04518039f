/**
 * The Cloud Monitoring sink against a loopback MetricService on the REST transport the functions
 * use, built from the protos @google-cloud/monitoring ships; the real client library sends the
 * requests.
 */
import { CloudMonitoringSink } from '../../functions/adapters/cloud-monitoring-sink';
import type { TimeSeriesWriter } from '../../functions/adapters/cloud-monitoring-sink';
import { createMonitoringWriter } from '../../functions/adapters/monitoring-writer';
import { GoogleApiError } from '../../functions/adapters/google-errors';
import { ManualClock } from '../support/manual-clock';
import { createLogger } from '../../functions/core/logger';
import { memoryWriter } from '../support/memory-writer';
import { guarded } from '../../functions/core/signals';
import { readCounters } from '../../functions/db/counters';
import { startFakeMetricService } from '../support/fake-google/metric-service';
import type { FakeMetricService } from '../support/fake-google/metric-service';
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

describe('CloudMonitoringSink', () => {
  let db: TestDatabase;
  let fake: FakeMetricService;
  let client: TimeSeriesWriter & { close(): Promise<void> };
  let clock: ManualClock;
  let sink: CloudMonitoringSink;

  beforeAll(async () => {
    db = await createTestDatabase();
    fake = await startFakeMetricService();
    // The writer the functions use (functions/wiring.ts), pointed at the stand-in.
    client = await createMonitoringWriter({
      projectId: 'enx-test-project',
      endpoint: `127.0.0.1:${fake.port}`,
    });
  });
  afterAll(async () => {
    await client.close();
    await fake.close();
    await db.drop();
  });
  beforeEach(async () => {
    fake.reset();
    await db.pool.query('DELETE FROM enx_jobs_counters');
    clock = new ManualClock(START);
    sink = new CloudMonitoringSink(
      client,
      { projectId: 'enx-test-project', location: 'us-central1' },
      db.pool,
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

  it('writes the started counter when an attempt starts', async () => {
    await sink.attemptStarted({ jobId: JOB, tickId: 't', attempt: 1, startedAt: START });
    expect(fake.requests).toEqual([
      {
        name: 'projects/enx-test-project',
        timeSeries: [
          {
            metric: { type: 'custom.googleapis.com/enx_jobs/attempts_started' },
            resource,
            metricKind: 'CUMULATIVE',
            valueType: 'INT64',
            points: [
              {
                interval: { startTime: at(START), endTime: at(new Date(START.getTime() + 1)) },
                value: { int64Value: '1', value: 'int64Value' },
              },
            ],
          },
        ],
      },
    ]);
  });

  it('writes heartbeat, succeeded count and duration in one call for a success', async () => {
    clock.advance(1500);
    await sink.attemptFinished(finished('succeeded'));
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].timeSeries).toEqual([
      {
        metric: { type: 'custom.googleapis.com/enx_jobs/attempts', labels: { outcome: 'succeeded' } },
        resource,
        metricKind: 'CUMULATIVE',
        valueType: 'INT64',
        points: [
          {
            interval: { startTime: at(clock.now()), endTime: at(new Date(clock.now().getTime() + 1)) },
            value: { int64Value: '1', value: 'int64Value' },
          },
        ],
      },
      {
        metric: { type: 'custom.googleapis.com/enx_jobs/heartbeat' },
        resource,
        metricKind: 'GAUGE',
        valueType: 'INT64',
        points: [{ interval: { endTime: at(clock.now()) }, value: { int64Value: '1', value: 'int64Value' } }],
      },
      {
        metric: { type: 'custom.googleapis.com/enx_jobs/attempt_duration', labels: { outcome: 'succeeded' } },
        resource,
        metricKind: 'GAUGE',
        valueType: 'DOUBLE',
        points: [
          { interval: { endTime: at(clock.now()) }, value: { doubleValue: 1.5, value: 'doubleValue' } },
        ],
      },
    ]);
  });

  it('counts failures cumulatively from the database and adds exhausted ticks, without a heartbeat', async () => {
    await sink.attemptFinished(finished('failed'));
    clock.advance(60_000);
    await sink.attemptFinished(finished('failed', true));
    const last = fake.requests[1].timeSeries;
    expect(last.map((series) => (series.metric as { type: string }).type)).toEqual([
      'custom.googleapis.com/enx_jobs/attempts',
      'custom.googleapis.com/enx_jobs/attempt_duration',
      'custom.googleapis.com/enx_jobs/exhausted_ticks',
    ]);
    const failedCount = last[0].points as {
      interval: { startTime: unknown; endTime: unknown };
      value: unknown;
    }[];
    expect(failedCount[0]).toEqual({
      interval: { startTime: at(START), endTime: at(clock.now()) },
      value: { int64Value: '2', value: 'int64Value' },
    });
    expect((last[2].points as { value: unknown }[])[0].value).toEqual({
      int64Value: '1',
      value: 'int64Value',
    });
  });

  it('writes only the skipped count for a skip or duplicate', async () => {
    await sink.attemptFinished(finished('skipped'));
    expect(fake.requests[0].timeSeries).toHaveLength(1);
    expect(fake.requests[0].timeSeries[0].metric).toEqual({
      type: 'custom.googleapis.com/enx_jobs/attempts',
      labels: { outcome: 'skipped' },
    });
  });

  it('counts refused requests per reason from the database, and refreshes them with the rest', async () => {
    await sink.requestRefused({ jobId: JOB, reason: 'tick', at: clock.now() });
    clock.advance(10_000);
    await sink.requestRefused({ jobId: JOB, reason: 'tick', at: clock.now() });
    await sink.requestRefused({ jobId: JOB, reason: 'auth', at: clock.now() });
    const series = fake.requests.map((request) => request.timeSeries[0]);
    expect(
      series.map((one) => [
        one.metric,
        (one.points as { value: { int64Value: string } }[])[0].value.int64Value,
      ]),
    ).toEqual([
      [{ type: 'custom.googleapis.com/enx_jobs/refused_requests', labels: { reason: 'tick' } }, '1'],
      [{ type: 'custom.googleapis.com/enx_jobs/refused_requests', labels: { reason: 'tick' } }, '2'],
      [{ type: 'custom.googleapis.com/enx_jobs/refused_requests', labels: { reason: 'auth' } }, '1'],
    ]);
    expect(series[0]).toMatchObject({ resource, metricKind: 'CUMULATIVE', valueType: 'INT64' });
    fake.reset();
    clock.advance(60_000);
    expect(await sink.refreshCounters(await readCounters(db.pool))).toBe(2);
    expect(fake.requests[0].timeSeries.map((one) => one.metric)).toEqual([
      { type: 'custom.googleapis.com/enx_jobs/refused_requests', labels: { reason: 'auth' } },
      { type: 'custom.googleapis.com/enx_jobs/refused_requests', labels: { reason: 'tick' } },
    ]);
  });

  it('turns a failed write into a warning, never an error', async () => {
    const logs = memoryWriter();
    const safe = guarded(sink, createLogger({ write: logs.write }));
    fake.failNext(1);
    await expect(safe.attemptFinished(finished('succeeded'))).resolves.toBeUndefined();
    expect(logs.entries()).toEqual([
      expect.objectContaining({ severity: 'WARNING', event: 'metrics_write_failed', job: JOB }),
    ]);
  });

  it('names the role to grant when Cloud Monitoring refuses the service account', async () => {
    fake.failNext(1, 7, 'Permission monitoring.timeSeries.create denied (or the resource may not exist).');
    const refused = sink.attemptFinished(finished('succeeded'));
    await expect(refused).rejects.toThrow(GoogleApiError);
    await expect(refused).rejects.toThrow(
      'Cloud Monitoring refused to write time series to projects/enx-test-project: the service account lacks roles/monitoring.metricWriter on projects/enx-test-project (Cloud Monitoring said: Permission monitoring.timeSeries.create denied (or the resource may not exist).)',
    );
  });

  it('says an unavailable Cloud Monitoring is transient', async () => {
    fake.failNext(1, 14, 'The service is currently unavailable.');
    await expect(sink.attemptFinished(finished('succeeded'))).rejects.toMatchObject({
      kind: 'transient',
      transient: true,
    });
  });

  it('recovers the running total after a refused write', async () => {
    fake.failNext(1, 3, 'written more frequently than the maximum sampling period');
    await expect(sink.attemptFinished(finished('failed'))).rejects.toThrow();
    clock.advance(30_000);
    await sink.attemptFinished(finished('failed'));
    expect((fake.requests[0].timeSeries[0].points as { value: unknown }[])[0].value).toEqual({
      int64Value: '2',
      value: 'int64Value',
    });
  });

  it('writes every counter series again when refreshed, except those written moments ago', async () => {
    await sink.attemptFinished(finished('succeeded'));
    await sink.attemptFinished(finished('failed', true));
    clock.advance(60_000);
    await sink.attemptStarted({ jobId: JOB, tickId: 't', attempt: 2, startedAt: clock.now() });
    fake.reset();
    clock.advance(5_000);
    const written = await sink.refreshCounters(await readCounters(db.pool));
    // succeeded, failed and exhausted are a minute old; started was written 5 s ago.
    expect(written).toBe(3);
    const series = fake.requests[0].timeSeries.map((one) => [
      (one.metric as { type: string; labels?: Record<string, string> }).type,
      (one.metric as { labels?: Record<string, string> }).labels?.outcome ?? '',
      (one.points as { value: { int64Value: string } }[])[0].value.int64Value,
    ]);
    expect(series).toEqual([
      ['custom.googleapis.com/enx_jobs/exhausted_ticks', '', '1'],
      ['custom.googleapis.com/enx_jobs/attempts', 'failed', '1'],
      ['custom.googleapis.com/enx_jobs/attempts', 'succeeded', '1'],
    ]);
  });
});
