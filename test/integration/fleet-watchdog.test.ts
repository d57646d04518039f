/**
 * The watchdog over HTTP through the real runtime: gauges from the ledger, kept locally or sent to
 * a loopback Cloud Monitoring; and the points and counters the other functions recorded in the
 * database, which only the watchdog writes to Cloud Monitoring.
 */
import { METRICS } from '../../functions/alerts/metrics';
import { jobTiming } from '../../functions/alerts/windows';
import { catalog, cleanupWorker } from '../../functions/catalog';
import { ManualClock } from '../support/manual-clock';
import { startFakeMetricService } from '../../local/fake-google/metric-service';
import type { FakeMetricService } from '../../local/fake-google/metric-service';
import type { DbClient } from '../../functions/core/db';
import { openAttempt } from '../../functions/core/ledger';
import { acquireJobLock } from '../../functions/core/lock';
import { tickFromHeader } from '../../functions/core/tick';
import { readCounters } from '../../functions/db/counters';
import { createHarness, ledgerAttempts } from '../support/harness';
import { ledgerTicks } from '../support/test-jobs';
import type { Harness } from '../support/harness';

const T0 = new Date('2026-11-23T12:00:00.000Z');
const MIN = 60_000;
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();

async function recordSuccess(harness: Harness, jobId: string, finishedAt: Date) {
  await harness.db.pool.query(
    `INSERT INTO enx_jobs_attempts (job_id, tick_id, attempt, state, started_at, finished_at, duration_ms)
     VALUES ($1, $2, 1, 'succeeded', $3, $3, 10)`,
    [jobId, finishedAt.toISOString(), finishedAt],
  );
}

/** Every job but these two is left out (as infra's omittedJobs would), so the story stays about them. */
const WATCHED = ['cleanup-worker', 'fleet-watchdog'];
const OMITTED_JOBS = catalog
  .map((job) => job.id as string)
  .filter((id) => !WATCHED.includes(id))
  .join(',');

describe('fleet-watchdog with local gauges', () => {
  let harness: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(T0);
    harness = await createHarness({ clock, env: { OMITTED_JOBS } });
  });
  afterAll(async () => harness.close());

  const ratio = (jobId: string) => harness.gauges.get(METRICS.forwardProgress.type, jobId);

  it('measures each job against its window and names the late ones', async () => {
    await recordSuccess(harness, 'cleanup-worker', new Date(T0.getTime() - MIN));
    const first = await harness.invoke('fleet-watchdog', { scheduleTime: at(0) });
    expect(first.status).toBe(200);
    expect(first.body.result.late).toEqual([]);
    const windowMs = jobTiming(cleanupWorker).windowMs;
    expect(ratio('cleanup-worker')).toBeCloseTo(MIN / windowMs, 3);

    clock.set(T0.getTime() + windowMs);
    const late = await harness.invoke('fleet-watchdog', { scheduleTime: at(windowMs) });
    // The watchdog itself was away for the whole jump, longer than its own few-minute window.
    expect(late.body.result.late).toEqual(['cleanup-worker', 'fleet-watchdog']);
    expect(ratio('cleanup-worker')).toBeGreaterThan(1);

    clock.advance(MIN);
    const next = await harness.invoke('fleet-watchdog', { scheduleTime: at(windowMs + MIN) });
    expect(next.body.result.late).toEqual(['cleanup-worker']);
    expect(ratio('fleet-watchdog')).toBeLessThan(1);
    expect(harness.logs.entries()).toContainEqual(
      expect.objectContaining({
        event: 'alert_condition',
        alert: 'ForwardProgressFailed',
        subject: 'cleanup-worker',
      }),
    );
  });

  it('counts attempts that are running past their deadline', async () => {
    const now = clock.now();
    await harness.db.pool.query(
      `INSERT INTO enx_jobs_attempts (job_id, tick_id, attempt, state, started_at, deadline_at)
       VALUES ('cleanup-worker', 'hung', 1, 'running', $1, $2)`,
      [new Date(now.getTime() - 10 * MIN), new Date(now.getTime() - 5 * MIN)],
    );
    clock.advance(MIN);
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: clock.now().toISOString() });
    expect(res.body.result.overdueAttempts).toBe(1);
    expect(harness.gauges.get(METRICS.overdueAttempts.type, 'cleanup-worker')).toBe(1);
    // ... and settles it: the ledger (and so the status page) stops showing it running.
    expect(res.body.result.abandonedAttempts).toBe(1);
    clock.advance(MIN);
    const next = await harness.invoke('fleet-watchdog', { scheduleTime: clock.now().toISOString() });
    expect(next.body.result.overdueAttempts).toBe(0);
  });

  it('marks an attempt past its deadline abandoned, fails its tick and counts the failure', async () => {
    const started = new Date(clock.now().getTime() - 20 * MIN);
    const tick = tickFromHeader('2026-11-23T11:00:00Z', started);
    const opened = await openAttempt(
      harness.db.pool as unknown as DbClient,
      { jobId: 'cleanup-worker', tick, now: started },
      { pid: 0, deadlineAt: new Date(started.getTime() + cleanupWorker.attemptDeadlineMs) },
    );
    expect(opened.kind).toBe('run');
    await harness.db.pool.query('DELETE FROM enx_jobs_counters');
    clock.advance(MIN);
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: clock.now().toISOString() });
    expect(res.body.result.abandonedAttempts).toBe(1);
    const attempts = await ledgerAttempts(harness.db, 'cleanup-worker');
    expect(attempts.find((row) => row.tick_id === tick.id)).toMatchObject({
      state: 'abandoned',
      exhausted: false,
      error: expect.stringMatching(/abandoned by the fleet-watchdog/),
    });
    expect(
      (await ledgerTicks(harness.db, 'cleanup-worker')).find((row) => row.tick_id === tick.id),
    ).toMatchObject({
      state: 'failed',
    });
    const counters = await readCounters(harness.db.pool);
    expect(
      counters.filter((counter) => counter.jobId === 'cleanup-worker').map((c) => [c.name, c.value]),
    ).toEqual([['failed', 1]]);
    expect(harness.logs.entries()).toContainEqual(
      expect.objectContaining({ severity: 'ERROR', event: 'abandoned', job: 'cleanup-worker' }),
    );
  });

  it('terminates a hung attempt that still holds the job lock before abandoning it', async () => {
    const started = new Date(clock.now().getTime() - 20 * MIN);
    const lock = await acquireJobLock(harness.db.pool, 'cleanup-worker', started);
    if (!lock.acquired) throw new Error('the lock is taken');
    const tick = tickFromHeader('2026-11-23T11:05:00Z', started);
    await openAttempt(
      lock.lock.client,
      { jobId: 'cleanup-worker', tick, now: started },
      { pid: lock.lock.pid, deadlineAt: new Date(started.getTime() + cleanupWorker.attemptDeadlineMs) },
    );
    clock.advance(MIN);
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: clock.now().toISOString() });
    expect(res.body.result.abandonedAttempts).toBe(1);
    const { rows } = await harness.db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
      lock.lock.pid,
    ]);
    expect(rows).toEqual([]);
    const again = await acquireJobLock(harness.db.pool, 'cleanup-worker', clock.now());
    expect(again.acquired).toBe(true);
    if (again.acquired) await again.lock.release();
    await lock.lock.release();
    expect(harness.logs.entries()).toContainEqual(expect.objectContaining({ event: 'lock_takeover' }));
  });

  it('judges a job that never succeeded from when it was first expected', async () => {
    await harness.db.pool.query("DELETE FROM enx_jobs_attempts WHERE job_id = 'cleanup-worker'");
    clock.advance(MIN);
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: clock.now().toISOString() });
    // First seen at T0 by the first run above, so by now it is long past its window.
    expect(res.body.result.late).toContain('cleanup-worker');
  });
});

describe('fleet-watchdog and omitted jobs', () => {
  it('does not judge an omitted job, and refuses an id the catalog does not have', async () => {
    const clock = new ManualClock(T0);
    const harness = await createHarness({ clock, env: { OMITTED_JOBS: 'e2e-redirect' } });
    try {
      await harness.invoke('fleet-watchdog', { scheduleTime: at(0) });
      clock.set(T0.getTime() + 24 * 60 * MIN);
      const late = await harness.invoke('fleet-watchdog', { scheduleTime: at(24 * 60 * MIN) });
      expect(late.body.result.late).toContain('e2e-default');
      expect(late.body.result.late).not.toContain('e2e-redirect');
      expect(harness.gauges.get(METRICS.forwardProgress.type, 'e2e-redirect')).toBeUndefined();
    } finally {
      await harness.close();
    }
    const misspelt = await createHarness({ env: { OMITTED_JOBS: 'e2e-redirekt' } });
    try {
      const res = await misspelt.invoke('fleet-watchdog', { scheduleTime: at(0) });
      expect(res.status).toBe(500);
      expect(JSON.stringify(res.body)).toContain('OMITTED_JOBS: e2e-redirekt not in the catalog');
    } finally {
      await misspelt.close();
    }
  });
});

describe('signals to a loopback Cloud Monitoring', () => {
  let harness: Harness;
  let fake: FakeMetricService;
  beforeAll(async () => {
    fake = await startFakeMetricService({ samplingPeriodMs: 5_000 });
    harness = await createHarness({
      env: {
        SIGNALS_SINK: 'cloud-monitoring',
        MONITORING_API_ENDPOINT: `127.0.0.1:${fake.port}`,
        GOOGLE_CLOUD_REGION: 'europe-west1',
      },
      overrides: { sink: undefined },
    });
  });
  afterAll(async () => {
    await harness.close();
    await fake.close();
  });

  const written = () =>
    fake.requests
      .flatMap((request) => request.timeSeries)
      .map((series) => ({
        type: (series.metric as { type: string }).type,
        labels: (series.metric as { labels?: Record<string, string> }).labels,
        job: (series.resource as { labels: { job: string } }).labels.job,
        endTime: (series.points as { interval: { endTime: { seconds: string } } }[])[0].interval.endTime,
        series,
      }));

  it('records a job run in the database and writes nothing to Cloud Monitoring from the job', async () => {
    const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T12:05:00Z' });
    expect(res.status).toBe(200);
    expect(fake.requests).toEqual([]);
    const counters = await readCounters(harness.db.pool);
    expect(counters.filter((c) => c.jobId === 'cleanup-worker').map((c) => [c.name, c.value])).toEqual([
      ['started', 1],
      ['succeeded', 1],
    ]);
    const { rows } = await harness.db.pool.query<{ metric: string; step: string | null }>(
      `SELECT metric, labels->>'step' AS step FROM enx_jobs_gauges WHERE job_id = 'cleanup-worker' AND pending`,
    );
    const metrics = new Set(rows.map((row) => row.metric));
    expect(metrics).toEqual(
      new Set([METRICS.heartbeat.type, METRICS.attemptDuration.type, METRICS.cleanupRows.type]),
    );
    // The job's own per-step gauges, one series per cleanup step, labelled with the step.
    expect(rows.map((row) => row.step)).toEqual(
      expect.arrayContaining(['VERIFICATION_CODE', 'TOKEN_SIGNING_KEY', 'JOB_LEDGER']),
    );
  });

  it("writes its gauges, the job's recorded points at their own time, and every counter", async () => {
    const { rows } = await harness.db.pool.query<{ observed_at: Date }>(
      `SELECT observed_at FROM enx_jobs_gauges WHERE job_id = 'cleanup-worker' AND metric = $1`,
      [METRICS.heartbeat.type],
    );
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: '2026-11-23T12:06:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      recordedGaugesWritten: expect.any(Number),
      recordedGaugesDropped: 0,
    });
    const series = written();
    const forJob = (type: string, job: string) => series.find((one) => one.type === type && one.job === job);
    expect(forJob(METRICS.forwardProgress.type, 'cleanup-worker')).toBeDefined();
    expect(forJob(METRICS.forwardProgress.type, 'fleet-watchdog')).toBeDefined();
    expect(forJob(METRICS.overdueAttempts.type, 'cleanup-worker')).toBeDefined();
    expect(forJob(METRICS.fleetIdle.type, 'fleet-watchdog')).toBeDefined();
    expect(forJob(METRICS.heartbeat.type, 'cleanup-worker')?.endTime.seconds).toBe(
      String(Math.floor(rows[0].observed_at.getTime() / 1000)),
    );
    expect(series.filter((one) => one.type === METRICS.cleanupRows.type).length).toBeGreaterThan(10);
    expect(forJob(METRICS.attempts.type, 'cleanup-worker')?.labels).toEqual({ outcome: 'succeeded' });
    expect(forJob(METRICS.attemptsStarted.type, 'cleanup-worker')).toBeDefined();
    expect(forJob(METRICS.heartbeat.type, 'cleanup-worker')?.series.resource).toEqual({
      type: 'generic_task',
      labels: {
        project_id: 'enx-test-project',
        location: 'europe-west1',
        namespace: 'enx-jobs',
        job: 'cleanup-worker',
        task_id: 'fleet',
      },
    });
  });

  it('writes a recorded point once, and drops one too old for Cloud Monitoring', async () => {
    await harness.db.pool.query(
      `INSERT INTO enx_jobs_gauges (job_id, metric, labels, value, observed_at)
       VALUES ('modeler-worker', $1, '{}', 2, now() - interval '30 hours')`,
      [METRICS.modelerAnomalies.type],
    );
    fake.reset();
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: '2026-11-23T12:07:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.result.recordedGaugesDropped).toBe(1);
    const series = written();
    expect(series.find((one) => one.type === METRICS.modelerAnomalies.type)).toBeUndefined();
    // cleanup-worker's points went out with the previous run; only the watchdog's own are new.
    expect(
      series.find((one) => one.type === METRICS.heartbeat.type && one.job === 'cleanup-worker'),
    ).toBeUndefined();
    expect(
      series.find((one) => one.type === METRICS.heartbeat.type && one.job === 'fleet-watchdog'),
    ).toBeDefined();
    expect(harness.logs.entries()).toContainEqual(
      expect.objectContaining({ severity: 'WARNING', event: 'metrics_write_failed' }),
    );
  });
});
