/**
 * The run ledger on a real Postgres: ticks run once however often they are delivered, failed ticks
 * really retry, the last failed retry exhausts the tick, and every attempt leaves log lines and
 * signals an operator can follow.
 */
import type { Response } from 'supertest';
import { defineConfig, text } from '../../functions/core/config';
import { defineJob } from '../../functions/core/job-spec';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { deferred, eventsOf, jobEntries, ledgerTicks, testJob, testJobSpec } from '../support/test-jobs';
import type { Deferred } from '../support/test-jobs';

const LABELS = 'logging.googleapis.com/labels';

/** Each test uses jobs of its own, so tests sharing the database never see each other's rows. */
const runs = new Map<string, number>();
const count = (job: string) => runs.set(job, (runs.get(job) ?? 0) + 1).get(job) ?? 0;

let gate: Deferred<void> = deferred();
let started: Deferred<void> = deferred();

const API_KEY = 'sk-live-0123456789abcdef';
const secretConfig = defineConfig('ledger-secret', {
  apiKey: text('LEDGER_API_KEY', undefined, 'Key for the key server.', { secret: true }),
});
const needsConfig = defineConfig('ledger-config', {
  realm: text('LEDGER_REALM', undefined, 'Which realm to work on.'),
  region: text('LEDGER_REGION', undefined, 'Which region to work in.'),
});

const definitions = [
  defineJob({ ...testJobSpec('ledger-secret'), config: secretConfig }, async (_context, config) => {
    count('ledger-secret');
    throw new Error(`the key server refused key ${config.apiKey}`);
  }),
  defineJob({ ...testJobSpec('ledger-config'), config: needsConfig }, async () => {
    count('ledger-config');
    return {};
  }),
  testJob('ledger-concurrent-held', async () => {
    count('ledger-concurrent-held');
    started.resolve();
    await gate.promise;
    return { ran: 1 };
  }),
  testJob('ledger-concurrent-quick', async () => {
    count('ledger-concurrent-quick');
    return { ran: 1 };
  }),
  testJob('ledger-retry', async (context) => {
    count('ledger-retry');
    if (context.attempt === 1) throw new Error('the first attempt fails');
    return { attempt: context.attempt };
  }),
  testJob('ledger-duplicate', async () => {
    count('ledger-duplicate');
    return { mailsSent: 2 };
  }),
  testJob(
    'ledger-exhausted',
    async () => {
      count('ledger-exhausted');
      throw new Error('the key server is down');
    },
    {
      retry: {
        minBackoffMs: 1000,
        maxBackoffMs: 1000,
        maxDoublings: 0,
        maxRetryDurationMs: 0,
        retryCount: 1,
      },
    },
  ),
  testJob('ledger-logs', async (context) => {
    count('ledger-logs');
    context.logger.info('working', { event: 'job_progress' });
    if (context.tick.id === '2026-11-23T21:00:00.000Z') throw new Error('deliberate failure');
    return { rows: 3 };
  }),
];

describe('run ledger', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness({ definitions, env: { LEDGER_API_KEY: API_KEY } });
  });
  afterAll(async () => harness.close());

  describe('20 concurrent deliveries of one tick', () => {
    const TICK = '2026-11-23T20:05:00Z';

    function expectRanOnce(responses: Response[], job: string) {
      expect(runs.get(job)).toBe(1);
      const winners = responses.filter((res) => res.body.status === 'succeeded');
      expect(winners).toHaveLength(1);
      for (const res of responses.filter((other) => other !== winners[0])) {
        expect([
          [200, 'duplicate'],
          [409, 'in_progress'],
        ]).toContainEqual([res.status, res.body.status]);
        expect(res.body.attempt).toBeUndefined();
      }
    }

    async function expectOneSucceededAttempt(job: string) {
      const attempts = await ledgerAttempts(harness.db, job);
      expect(attempts).toHaveLength(20);
      expect(attempts.filter((row) => row.state === 'succeeded')).toEqual([
        expect.objectContaining({ attempt: 1, tick_id: '2026-11-23T20:05:00.000Z' }),
      ]);
      for (const row of attempts.filter((other) => other.state !== 'succeeded')) {
        expect(row).toMatchObject({ state: 'duplicate', attempt: 0 });
      }
      expect(await ledgerTicks(harness.db, job)).toEqual([
        expect.objectContaining({ state: 'succeeded', attempts: 1 }),
      ]);
    }

    it('run the job once while the others are answered in progress', async () => {
      const job = 'ledger-concurrent-held';
      gate = deferred();
      started = deferred();
      const othersAnswered = deferred();
      let answered = 0;
      const calls = Array.from({ length: 20 }, () =>
        harness.invoke(job, { scheduleTime: TICK }).then((res) => {
          answered += 1;
          if (answered === 19) othersAnswered.resolve();
          return res;
        }),
      );
      // The runner cannot answer before the gate opens, so 19 answers are all the others.
      await othersAnswered.promise;
      await started.promise;
      gate.resolve();
      const responses = await Promise.all(calls);

      expectRanOnce(responses, job);
      expect(responses.filter((res) => res.status === 409)).toHaveLength(19);
      await expectOneSucceededAttempt(job);
    });

    it('run a quick job once whatever the interleaving', async () => {
      const job = 'ledger-concurrent-quick';
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => harness.invoke(job, { scheduleTime: TICK })),
      );
      expectRanOnce(responses, job);
      await expectOneSucceededAttempt(job);
    });
  });

  it('retries a failed tick: attempt 2 runs again and succeeds', async () => {
    const job = 'ledger-retry';
    const first = await harness.invoke(job, { scheduleTime: '2026-11-23T20:10:00Z' });
    expect(first.status).toBe(500);
    expect(first.body).toMatchObject({
      ok: false,
      status: 'failed',
      attempt: 1,
      exhausted: false,
      errors: ['the first attempt fails'],
    });
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ state: 'failed', attempts: 1 }),
    ]);

    const retry = await harness.invoke(job, { scheduleTime: '2026-11-23T20:10:00.000Z' });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: 'succeeded', attempt: 2, result: { attempt: 2 } });
    expect(runs.get(job)).toBe(2);
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({
        attempt: 1,
        state: 'failed',
        error: 'the first attempt fails',
        exhausted: false,
      }),
      expect.objectContaining({ attempt: 2, state: 'succeeded', error: null, result: { attempt: 2 } }),
    ]);
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ tick_id: '2026-11-23T20:10:00.000Z', state: 'succeeded', attempts: 2 }),
    ]);
  });

  it('answers a delivery of a tick that already succeeded as a duplicate and runs nothing', async () => {
    const job = 'ledger-duplicate';
    const tick = '2026-11-23T20:15:00Z';
    expect((await harness.invoke(job, { scheduleTime: tick })).status).toBe(200);

    const again = await harness.invoke(job, { scheduleTime: tick });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({
      ok: true,
      status: 'duplicate',
      job,
      tick: '2026-11-23T20:15:00.000Z',
      succeededAt: expect.any(String),
    });
    expect(runs.get(job)).toBe(1);
    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({ attempt: 1, state: 'succeeded', result: { mailsSent: 2 } }),
      expect.objectContaining({ attempt: 0, state: 'duplicate' }),
    ]);
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ state: 'succeeded', attempts: 1 }),
    ]);
    expect(eventsOf(harness.logs.entries(), job)).toEqual(['started', 'succeeded', 'duplicate']);
    expect(harness.sink.tallies.get(job)).toMatchObject({ started: 1, succeeded: 1, skipped: 1, failed: 0 });
  });

  it('marks a tick exhausted when its last allowed attempt fails', async () => {
    const job = 'ledger-exhausted';
    const tick = '2026-11-23T20:20:00Z';
    const first = await harness.invoke(job, { scheduleTime: tick });
    expect(first.status).toBe(500);
    expect(first.body).toMatchObject({ attempt: 1, exhausted: false });
    expect(harness.sink.tallies.get(job)?.exhausted).toBe(0);

    const last = await harness.invoke(job, { scheduleTime: tick });
    expect(last.status).toBe(500);
    expect(last.body).toMatchObject({
      status: 'failed',
      attempt: 2,
      exhausted: true,
      errors: ['the key server is down'],
    });

    expect(await ledgerAttempts(harness.db, job)).toEqual([
      expect.objectContaining({ attempt: 1, state: 'failed', exhausted: false }),
      expect.objectContaining({ attempt: 2, state: 'failed', exhausted: true }),
    ]);
    expect(await ledgerTicks(harness.db, job)).toEqual([
      expect.objectContaining({ state: 'exhausted', attempts: 2, last_error: 'the key server is down' }),
    ]);
    const exhausted = jobEntries(harness.logs.entries(), job).filter((entry) => entry.event === 'exhausted');
    expect(exhausted).toEqual([
      expect.objectContaining({
        severity: 'ERROR',
        message: expect.stringMatching(/exhausted its retries: attempt 2 of 2 failed/),
        [LABELS]: expect.objectContaining({ job, tick: '2026-11-23T20:20:00.000Z', attempt: '2' }),
      }),
    ]);
    expect(harness.sink.tallies.get(job)).toMatchObject({ failed: 2, exhausted: 1, succeeded: 0 });
  });

  it('labels every line of an attempt with job, tick and attempt, and logs its events', async () => {
    const job = 'ledger-logs';
    const traceId = '105445aa7843bc8bf206b12000100000';
    const ok = await harness.invoke(job, {
      scheduleTime: '2026-11-23T20:30:00Z',
      headers: { 'X-Cloud-Trace-Context': `${traceId}/1;o=1`, 'Function-Execution-Id': 'exec-42' },
    });
    expect(ok.status).toBe(200);
    const bad = await harness.invoke(job, { scheduleTime: '2026-11-23T21:00:00Z' });
    expect(bad.status).toBe(500);

    const entries = jobEntries(harness.logs.entries(), job);
    expect(entries.map((entry) => [entry.event, entry.severity])).toEqual([
      ['started', 'INFO'],
      ['job_progress', 'INFO'],
      ['succeeded', 'INFO'],
      ['started', 'INFO'],
      ['job_progress', 'INFO'],
      ['failed', 'ERROR'],
    ]);
    for (const entry of entries.slice(0, 3)) {
      expect(entry[LABELS]).toEqual({
        job,
        execution_id: 'exec-42',
        tick: '2026-11-23T20:30:00.000Z',
        attempt: '1',
      });
      expect(entry['logging.googleapis.com/trace']).toBe(`projects/enx-test-project/traces/${traceId}`);
      expect(entry['logging.googleapis.com/spanId']).toBe('0000000000000001');
    }
    for (const entry of entries.slice(3)) {
      expect(entry[LABELS]).toEqual(
        expect.objectContaining({
          job,
          tick: '2026-11-23T21:00:00.000Z',
          attempt: '1',
          execution_id: expect.any(String),
        }),
      );
    }
    expect(entries[2]).toMatchObject({ durationMs: expect.any(Number), result: { rows: 3 } });
    expect(entries[5]).toMatchObject({
      message: 'job failed: deliberate failure',
      errors: ['deliberate failure'],
      exhausted: false,
    });
  });
});

describe('secrets and configuration', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness({ definitions, env: { LEDGER_API_KEY: API_KEY } });
  });
  afterAll(async () => harness.close());

  it('keeps a secret setting out of the logs, the answer and the ledger, even inside a job error', async () => {
    const res = await harness.invoke('ledger-secret', { scheduleTime: '2026-11-23T20:05:00Z' });
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain(API_KEY);
    expect(res.body.errors).toEqual(['the key server refused key [redacted]']);
    const attempts = await ledgerAttempts(harness.db, 'ledger-secret');
    expect(attempts.map((row) => row.error)).toEqual(['the key server refused key [redacted]']);
    expect(await ledgerTicks(harness.db, 'ledger-secret')).toEqual([
      expect.objectContaining({ last_error: 'the key server refused key [redacted]' }),
    ]);
    expect(harness.logs.lines.join('\n')).not.toContain(API_KEY);
    expect(jobEntries(harness.logs.entries(), 'ledger-secret')).toContainEqual(
      expect.objectContaining({
        event: 'failed',
        message: 'job failed: the key server refused key [redacted]',
      }),
    );
  });

  it('fails the attempt on a bad job configuration, naming every problem, without running the job', async () => {
    const res = await harness.invoke('ledger-config', { scheduleTime: '2026-11-23T20:05:00Z' });
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({
      status: 'failed',
      errors: [
        'config: LEDGER_REALM is required: Which realm to work on.',
        'config: LEDGER_REGION is required: Which region to work in.',
      ],
    });
    expect(runs.get('ledger-config')).toBeUndefined();
    expect((await ledgerAttempts(harness.db, 'ledger-config')).map((row) => row.state)).toEqual(['failed']);
  });
});

describe('a metrics sink that fails', () => {
  test.each([
    [
      'rejects',
      {
        attemptStarted: () => Promise.reject(new Error('monitoring unavailable')),
        attemptFinished: () => Promise.reject(new Error('monitoring unavailable')),
        requestRefused: () => Promise.reject(new Error('monitoring unavailable')),
      },
    ],
    [
      'throws',
      {
        attemptStarted: () => {
          throw new Error('monitoring unavailable');
        },
        attemptFinished: () => {
          throw new Error('monitoring unavailable');
        },
        requestRefused: () => {
          throw new Error('monitoring unavailable');
        },
      },
    ],
  ])('never fails the job when it %s', async (_kind, sink) => {
    let ran = 0;
    const harness = await createHarness({
      definitions: [
        testJob('metrics-broken', async () => {
          ran += 1;
          return { ok: 1 };
        }),
      ],
      sink,
    });
    try {
      const res = await harness.invoke('metrics-broken', { scheduleTime: '2026-11-23T20:05:00Z' });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('succeeded');
      expect(ran).toBe(1);
      expect((await ledgerAttempts(harness.db, 'metrics-broken')).map((row) => row.state)).toEqual([
        'succeeded',
      ]);
      const warnings = harness.logs.entries().filter((entry) => entry.event === 'metrics_write_failed');
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      for (const warning of warnings) {
        expect(warning).toMatchObject({
          severity: 'WARNING',
          job: 'metrics-broken',
          error: 'monitoring unavailable',
        });
      }
      // The harness's own tally sits beside the broken sink and still saw the attempt.
      expect(harness.sink.tallies.get('metrics-broken')).toMatchObject({ started: 1, succeeded: 1 });
    } finally {
      await harness.close();
    }
  });
});
