/**
 * No overlap, on a real Postgres: one attempt of a job at a time; a timed-out, killed, crashed or
 * hung holder never blocks the job for longer than its deadline; and a tick that arrives while
 * another runs is skipped and recorded.
 */
import { Client } from 'pg';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { deferred, eventually, eventsOf, jobEntries, ledgerTicks, testJob } from '../support/test-jobs';
import type { Deferred } from '../support/test-jobs';

/** The job lock's key, as lock.ts takes it: pg_try_advisory_lock(0x656e786b, hashtext(job id)). */
const LOCK_NAMESPACE = 0x656e786b;
const T1 = '2026-11-23T20:05:00.000Z';
const T2 = '2026-11-23T20:10:00.000Z';
const T3 = '2026-11-23T20:15:00.000Z';

interface Blocker {
  started: Deferred<void>;
  gate: Deferred<void>;
}
/** Per job: the first tick (T1) blocks until the test opens the gate; every other tick returns. */
const blockers = new Map<string, Blocker>();
function block(job: string): Blocker {
  const blocker = { started: deferred(), gate: deferred() };
  blockers.set(job, blocker);
  return blocker;
}
const runs: string[] = [];

function blockingJob(id: string, options: { timeoutMs?: number; awaitAbort?: boolean } = {}) {
  return testJob(
    id,
    async (context) => {
      runs.push(`${id} ${context.tick.id}`);
      const blocker = blockers.get(id);
      if (context.tick.id !== T1 || !blocker) return { tick: context.tick.id };
      blocker.started.resolve();
      if (options.awaitAbort) {
        await new Promise((_, reject) =>
          context.abortSignal.addEventListener('abort', () => reject(context.abortSignal.reason)),
        );
      }
      await blocker.gate.promise;
      return { tick: context.tick.id };
    },
    options.timeoutMs ? { timeoutMs: options.timeoutMs, attemptDeadlineMs: 10_000 } : {},
  );
}

const definitions = [
  blockingJob('lock-skip'),
  blockingJob('lock-timeout-ignores', { timeoutMs: 300 }),
  blockingJob('lock-timeout-aborts', { timeoutMs: 300, awaitAbort: true }),
  blockingJob('lock-killed'),
  blockingJob('lock-hung'),
  blockingJob('lock-crashed'),
  blockingJob('lock-unknown'),
];

/** A connection of its own that takes a job's lock, standing in for another instance. */
async function foreignHolder(harness: Harness, job: string): Promise<{ client: Client; pid: number }> {
  const client = new Client({ connectionString: harness.db.url });
  // The runtime terminates this connection in some tests; pg reports that as an 'error' event.
  client.on('error', () => undefined);
  await client.connect();
  const { rows } = await client.query<{ ok: boolean; pid: number }>(
    'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok, pg_backend_pid() AS pid',
    [LOCK_NAMESPACE, job],
  );
  expect(rows[0].ok).toBe(true);
  return { client, pid: rows[0].pid };
}

/** The running attempt row a holder on another instance would have written. */
async function runningAttempt(
  client: Client,
  job: string,
  options: { attempt: number; deadline: string },
): Promise<void> {
  await client.query(
    `INSERT INTO enx_jobs_ticks (job_id, tick_id, scheduled_at, state, attempts, first_started_at)
     VALUES ($1, $2, $3, 'running', $4, now() - interval '10 minutes')`,
    [job, T1, new Date(T1), options.attempt],
  );
  await client.query(
    `INSERT INTO enx_jobs_attempts (job_id, tick_id, attempt, state, started_at, holder_pid, deadline_at)
     VALUES ($1, $2, $3, 'running', now() - interval '10 minutes', pg_backend_pid(), now() + $4::interval)`,
    [job, T1, options.attempt, options.deadline],
  );
}

async function backendGone(harness: Harness, pid: number): Promise<void> {
  await eventually(async () => {
    const { rowCount } = await harness.db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    return rowCount === 0;
  }, `backend ${pid} to end`);
}

describe('job lock', () => {
  let harness: Harness;
  const foreign: Client[] = [];

  beforeAll(async () => {
    harness = await createHarness({ definitions });
  });
  afterAll(async () => {
    for (const blocker of blockers.values()) blocker.gate.resolve();
    for (const client of foreign) await client.end().catch(() => undefined);
    await harness.close();
  });

  it('skips a different tick while one is running, and records the skip', async () => {
    const job = 'lock-skip';
    const blocker = block(job);
    const first = harness.invoke(job, { scheduleTime: T1 });
    await blocker.started.promise;

    const second = await harness.invoke(job, { scheduleTime: T2 });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      ok: true,
      status: 'skipped',
      tick: T2,
      reason: `tick ${T1} of this job is still running; jobs never overlap, and the next tick covers this one`,
    });

    blocker.gate.resolve();
    expect((await first).body).toMatchObject({ status: 'succeeded', tick: T1 });
    expect(runs.filter((run) => run.startsWith(`${job} `))).toEqual([`${job} ${T1}`]);
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: T1, attempt: 1, state: 'succeeded' }),
      expect.objectContaining({
        tick_id: T2,
        attempt: 0,
        state: 'skipped',
        error: expect.stringContaining(T1),
      }),
    ]);
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: T1, state: 'succeeded', attempts: 1 }),
      expect.objectContaining({ tick_id: T2, state: 'skipped', attempts: 0 }),
    ]);
    expect(eventsOf(harness.logs.entries(), job)).toEqual(['started', 'skipped', 'succeeded']);
    expect(harness.sink.tallies.get(job)).toMatchObject({ started: 1, succeeded: 1, skipped: 1 });
  });

  test.each([
    ['ignores', 'lock-timeout-ignores'],
    ['awaits', 'lock-timeout-aborts'],
  ])('times out a job that %s its AbortSignal, records it and frees the lock', async (_how, job) => {
    const blocker = block(job);
    const res = await harness.invoke(job, { scheduleTime: T1 });
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({
      ok: false,
      status: 'failed',
      attempt: 1,
      errors: [expect.stringMatching(/^timed out after 300 ms and was aborted/)],
    });
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'failed',
        error: expect.stringMatching(/timed out after 300 ms/),
      }),
    ]);
    const timedOut = jobEntries(harness.logs.entries(), job).find((entry) => entry.event === 'timed_out');
    expect(timedOut).toMatchObject({ severity: 'ERROR', message: 'job timed out after 300 ms' });

    // The lock is free although the first run may still be stuck: the next tick runs at once.
    const next = await harness.invoke(job, { scheduleTime: T2 });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ status: 'succeeded', tick: T2 });
    blocker.gate.resolve();
  });

  it('lets the next tick run when the holder is killed mid-run, and abandons its attempt', async () => {
    const job = 'lock-killed';
    const blocker = block(job);
    // The lost connection must be the lock's to handle, not an uncaught error that the Functions
    // Framework pins on whichever request happened to open the socket.
    const consoleError = jest.spyOn(console, 'error');
    const first = harness.invoke(job, { scheduleTime: T1 });
    await blocker.started.promise;

    const { rows } = await harness.db.pool.query<{ holder_pid: number }>(
      "SELECT holder_pid FROM enx_jobs_attempts WHERE job_id = $1 AND state = 'running'",
      [job],
    );
    expect(rows).toHaveLength(1);
    const pid = rows[0].holder_pid;
    await harness.db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await backendGone(harness, pid);

    const next = await harness.invoke(job, { scheduleTime: T2 });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ status: 'succeeded', tick: T2 });

    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({
        tick_id: T1,
        attempt: 1,
        state: 'abandoned',
        exhausted: false,
        error: expect.stringMatching(/stopped before it finished/),
      }),
      expect.objectContaining({ tick_id: T2, attempt: 1, state: 'succeeded' }),
    ]);
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: T1, state: 'failed' }),
      expect.objectContaining({ tick_id: T2, state: 'succeeded' }),
    ]);
    const abandoned = jobEntries(harness.logs.entries(), job).find((entry) => entry.event === 'abandoned');
    expect(abandoned).toMatchObject({
      severity: 'ERROR',
      abandoned: { tickId: T1, attempt: 1, exhausted: false },
      'logging.googleapis.com/labels': expect.objectContaining({ job, tick: T2 }),
    });

    // The killed run finishing later cannot overwrite what the ledger says about it.
    blocker.gate.resolve();
    await first;
    expect((await ledgerAttempts(harness.db, job))[0].state).toBe('abandoned');
    expect(eventsOf(harness.logs.entries(), job)).toContain('ledger_write_failed');
    const uncaught = consoleError.mock.calls;
    consoleError.mockRestore();
    expect(uncaught).toEqual([]);
  });

  it('runs after a crashed holder, abandoning its attempt and exhausting its tick on the last retry', async () => {
    const job = 'lock-crashed';
    const holder = await foreignHolder(harness, job);
    foreign.push(holder.client);
    // Attempt 4 is the last one cleanup-like jobs get (retryCount 3).
    await runningAttempt(holder.client, job, { attempt: 4, deadline: '5 minutes' });

    const whileHeld = await harness.invoke(job, { scheduleTime: T2 });
    expect(whileHeld.body).toMatchObject({ status: 'skipped', reason: expect.stringContaining(T1) });

    // The instance dies: its connection drops without a goodbye, and Postgres frees the lock.
    holder.client.connection.stream.destroy();
    await backendGone(harness, holder.pid);

    const next = await harness.invoke(job, { scheduleTime: T3 });
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ status: 'succeeded', tick: T3 });
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: T1, attempt: 4, state: 'abandoned', exhausted: true }),
      expect.objectContaining({ tick_id: T2, attempt: 0, state: 'skipped' }),
      expect.objectContaining({ tick_id: T3, attempt: 1, state: 'succeeded' }),
    ]);
    expect((await ledgerTicks(harness.db, job))[0]).toMatchObject({ tick_id: T1, state: 'exhausted' });
    expect(eventsOf(harness.logs.entries(), job)).toEqual([
      'skipped',
      'abandoned',
      'exhausted',
      'started',
      'succeeded',
    ]);
    expect(harness.sink.tallies.get(job)).toMatchObject({
      exhausted: 1,
      failed: 1,
      succeeded: 1,
      skipped: 1,
    });
  });

  it('takes over from a hung holder past its deadline', async () => {
    const job = 'lock-hung';
    const holder = await foreignHolder(harness, job);
    foreign.push(holder.client);
    // Past the deadline by more than the takeover grace (30 s).
    await runningAttempt(holder.client, job, { attempt: 1, deadline: '-5 minutes' });

    const res = await harness.invoke(job, { scheduleTime: T2 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', tick: T2 });
    await backendGone(harness, holder.pid);

    const entries = jobEntries(harness.logs.entries(), job);
    expect(entries.map((entry) => entry.event)).toEqual([
      'lock_takeover',
      'abandoned',
      'started',
      'succeeded',
    ]);
    expect(entries[0]).toMatchObject({ severity: 'WARNING', holder: { pid: holder.pid, tickId: T1 } });
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: T1, attempt: 1, state: 'abandoned', exhausted: false }),
      expect.objectContaining({ tick_id: T2, attempt: 1, state: 'succeeded' }),
    ]);
  });

  it('answers 409 while a holder has not said which tick it runs, and runs nothing', async () => {
    const job = 'lock-unknown';
    const holder = await foreignHolder(harness, job);
    foreign.push(holder.client);

    const res = await harness.invoke(job, { scheduleTime: T1 });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      ok: false,
      status: 'in_progress',
      reason: expect.stringMatching(/retry later/),
    });
    expect(runs.filter((run) => run.startsWith(`${job} `))).toEqual([]);

    await holder.client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, job]);
    const retry = await harness.invoke(job, { scheduleTime: T1 });
    expect(retry.status).toBe(200);
    expect((await ledgerAttempts(harness.db, job)).map((row) => [row.attempt, row.state])).toEqual([
      [0, 'duplicate'],
      [1, 'succeeded'],
    ]);
  });
});
