/**
 * Ticks that must run (JobSpec.skippedTick 'must-run'): a tick that meets another running tick of
 * its job is answered non-2xx, so Cloud Scheduler retries it after the running tick has ended, and
 * a tick whose last retry meets one too is exhausted and counted like any other.
 *
 * The running tick is played by holding the job lock and opening its attempt in the ledger, which
 * is exactly what a running attempt of the runtime has done.
 */
import { closeAttempt, openAttempt } from '../../functions/core/ledger';
import { acquireJobLock } from '../../functions/core/lock';
import type { JobLock } from '../../functions/core/lock';
import { tickFromHeader } from '../../functions/core/tick';
import { jobDefinitions } from '../../functions/jobs';
import { planRetry } from '../../local/retry-policy';
import { startSmtpCatcher } from '../../local/smtp-catcher';
import type { SmtpCatcher } from '../../local/smtp-catcher';
import { emailerAnomalies } from '../../functions/catalog';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { insertRow } from '../support/seed-cleanup';
import { emailerEnv } from '../support/smtp';
import { eventsOf, ledgerTicks, testJob } from '../support/test-jobs';

const EMAILER = 'emailer-anomalies';
const YESTERDAY = '2026-11-22T18:00:00.000Z';
const TODAY = '2026-11-23T18:00:00.000Z';

let relay: SmtpCatcher;
let harness: Harness;
let runs = 0;

beforeAll(async () => {
  relay = await startSmtpCatcher();
  harness = await createHarness({
    env: emailerEnv(relay),
    definitions: [
      ...jobDefinitions.filter((job) => job.spec.id === EMAILER),
      testJob(
        'must-run-probe',
        async () => {
          runs += 1;
          return {};
        },
        { skippedTick: 'must-run', retry: { ...emailerAnomalies.retry, retryCount: 1 } },
      ),
    ],
  });
});

afterAll(async () => {
  await harness?.close();
  await relay?.close();
});

/**
 * Another tick of the job, running: the lock held and its attempt open in the ledger. release()
 * ends it as it would end: the attempt closed as succeeded, then the lock freed.
 */
async function runningTick(jobId: string, tickId: string): Promise<{ release(): Promise<void> }> {
  const now = new Date();
  const result = await acquireJobLock(harness.db.pool, jobId, now);
  if (!result.acquired) throw new Error('the lock is taken');
  const lock: JobLock = result.lock;
  const opened = await openAttempt(
    lock.client,
    { jobId, tick: tickFromHeader(tickId, now), now },
    { pid: lock.pid, deadlineAt: new Date(now.getTime() + 60_000) },
  );
  return {
    async release() {
      const close = { state: 'succeeded', exhausted: false, finishedAt: new Date(), durationMs: 1 } as const;
      await closeAttempt(lock.client, { ...close, attemptId: opened.attemptId });
      await lock.release();
    },
  };
}

const RUNTIME_EVENTS = new Set([
  'deferred',
  'skipped',
  'abandoned',
  'started',
  'succeeded',
  'failed',
  'exhausted',
]);

it("defers a colliding emailer tick with a non-2xx answer; the scheduler's retry sends its mail", async () => {
  await insertRow(harness.db.pool, 'realms', {
    id: 1,
    name: 'Dropping',
    region_code: 'R1',
    is_e2e: false,
    contact_email_addresses: ['admin1@realm.example'],
    last_codes_claimed_ratio: 0.3,
    codes_claimed_ratio_mean: 0.8,
    codes_claimed_ratio_stddev: 0.05,
  });
  const running = await runningTick(EMAILER, YESTERDAY);
  const first = await harness.invoke(EMAILER, { scheduleTime: TODAY });
  expect(first.status).toBe(409);
  expect(first.body).toMatchObject({
    ok: false,
    status: 'deferred',
    tick: TODAY,
    attempt: 1,
    exhausted: false,
  });
  expect(relay.messages()).toHaveLength(0);

  // Cloud Scheduler retries a non-2xx answer: a minute later for the emailers, long before tomorrow.
  const retry = planRetry(emailerAnomalies.retry, {
    retriesDone: 0,
    firstAttemptAtMs: Date.parse(TODAY),
    nowMs: Date.parse(TODAY) + 1_000,
    nextTickAtMs: Date.parse(TODAY) + 24 * 3_600_000,
  });
  expect(retry).toMatchObject({ kind: 'retry', delayMs: 60_000 });

  await running.release();
  const second = await harness.invoke(EMAILER, { scheduleTime: TODAY });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ status: 'succeeded', attempt: 2, result: { mailsSent: 1 } });
  expect(relay.messages().map((mail) => mail.recipients)).toEqual([['admin1@realm.example']]);
  const today = (await ledgerAttempts(harness.db, EMAILER)).filter((row) => row.tick_id === TODAY);
  expect(today.map((row) => [row.attempt, row.state])).toEqual([
    [1, 'deferred'],
    [2, 'succeeded'],
  ]);
  const events = eventsOf(harness.logs.entries(), EMAILER).filter((event) =>
    RUNTIME_EVENTS.has(String(event)),
  );
  expect(events).toEqual(['deferred', 'started', 'succeeded']);
});

it('exhausts a must-run tick whose last retry is deferred too, and counts it', async () => {
  const job = 'must-run-probe';
  const running = await runningTick(job, '2026-11-23T20:00:00.000Z');
  try {
    const tick = '2026-11-23T20:05:00.000Z';
    const first = await harness.invoke(job, { scheduleTime: tick });
    expect(first.body).toMatchObject({ status: 'deferred', attempt: 1, exhausted: false });
    const last = await harness.invoke(job, { scheduleTime: tick });
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ status: 'deferred', attempt: 2, exhausted: true });
    expect(runs).toBe(0);
    const ticks = await ledgerTicks(harness.db, job);
    expect(ticks.find((row) => row.tick_id === tick)).toMatchObject({ state: 'exhausted', attempts: 2 });
    expect(harness.sink.tallies.get(job)).toMatchObject({ exhausted: 1, skipped: 2, started: 0 });
    expect(eventsOf(harness.logs.entries(), job)).toEqual(['deferred', 'deferred', 'exhausted']);
  } finally {
    await running.release();
  }
});

it('skips, with a 200, a colliding tick that the next tick covers', async () => {
  const running = await runningTick('cleanup-probe', '2026-11-23T20:00:00.000Z');
  const covered = await createHarness({
    definitions: [testJob('cleanup-probe', async () => ({}))],
    database: harness.db,
  });
  try {
    const res = await covered.invoke('cleanup-probe', { scheduleTime: '2026-11-23T20:05:00Z' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'skipped' });
  } finally {
    await running.release();
    await covered.close();
  }
});
