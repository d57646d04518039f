/**
 * The strict request contract (issue 14): a request runs the job only if it looks exactly like
 * Cloud Scheduler's call to the job's HTTP target. Everything else is refused with its own status,
 * runs nothing, leaves no trace in the ledger, and is logged and counted by reason.
 */
import request from 'supertest';
import { serveJob } from '../../functions/serve-job';
import { ManualClock } from '../support/manual-clock';
import { TICK_CLOCK_SKEW_MS } from '../../functions/core/tick';
import { schedulerHeaders } from '../../local/scheduler-http';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { ledgerTicks, testJob } from '../support/test-jobs';

const GET_JOB = 'contract-get';
const POST_JOB = 'contract-post';
const ZONED_JOB = 'contract-zoned';

describe('the request contract', () => {
  let harness: Harness;
  const runs = new Map<string, number>();
  const ran = (job: string) => async () => {
    runs.set(job, (runs.get(job) ?? 0) + 1);
    return { ran: true };
  };

  beforeAll(async () => {
    harness = await createHarness({
      definitions: [
        testJob(GET_JOB, ran(GET_JOB)),
        testJob(POST_JOB, ran(POST_JOB), { httpMethod: 'POST' }),
        // 09:00 in Berlin: 08:00Z in winter, 07:00Z in summer.
        testJob(ZONED_JOB, ran(ZONED_JOB), { schedule: { cron: '0 9 * * *', timeZone: 'Europe/Berlin' } }),
      ],
    });
  });
  afterAll(async () => harness.close());

  beforeEach(async () => {
    runs.clear();
    await harness.db.pool.query('DELETE FROM enx_jobs_attempts; DELETE FROM enx_jobs_ticks');
    harness.logs.lines.length = 0;
    harness.sink.tallies.clear();
  });

  /** A server for the job, for requests the harness's invoke() does not send. */
  function serve(jobId: string) {
    const definition = [
      testJob(GET_JOB, ran(GET_JOB)),
      testJob(POST_JOB, ran(POST_JOB), { httpMethod: 'POST' }),
    ].find((candidate) => candidate.spec.id === jobId)!;
    return request(serveJob(definition, harness.runtime).server);
  }

  async function expectRefused(jobId: string, reason: string, status: number, res: request.Response) {
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ ok: false, status: 'rejected', reason, error: expect.any(String) });
    expect(runs.get(jobId) ?? 0).toBe(0);
    expect(await ledgerAttempts(harness.db, jobId)).toEqual([]);
    expect(await ledgerTicks(harness.db, jobId)).toEqual([]);
    expect(harness.sink.tallies.get(jobId)?.refused).toEqual({ [reason]: 1 });
    expect(harness.sink.tallies.get(jobId)?.started ?? 0).toBe(0);
    expect(harness.logs.entries()).toContainEqual(
      expect.objectContaining({ severity: 'WARNING', event: 'rejected', reason, status }),
    );
  }

  describe('admits what Cloud Scheduler sends', () => {
    it('runs a GET job for its scheduler request: a due tick, no body', async () => {
      const tick = '2026-11-23T20:05:00.000Z';
      const headers = schedulerHeaders(GET_JOB, new Date(tick), await harness.token());
      const res = await serve(GET_JOB).get('/').set(headers);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'succeeded', tick });
      expect(runs.get(GET_JOB)).toBe(1);
    });

    it('runs a POST job for its scheduler request, at / or at /<job id>', async () => {
      const token = await harness.token();
      const first = schedulerHeaders(POST_JOB, new Date('2026-11-23T20:05:00Z'), token);
      const second = schedulerHeaders(POST_JOB, new Date('2026-11-23T20:10:00Z'), token);
      expect((await serve(POST_JOB).post('/').set(first)).status).toBe(200);
      expect((await serve(POST_JOB).post(`/${POST_JOB}`).set(second)).status).toBe(200);
      expect(runs.get(POST_JOB)).toBe(2);
    });

    it('runs a manual request (no schedule time) as a tick of its own', async () => {
      const res = await harness.invoke(GET_JOB);
      expect(res.status).toBe(200);
      expect(res.body.tick).toMatch(/^manual-/);
    });

    it('runs a forced run (a recent time off the cron) as a tick of its own, shared by its retries', async () => {
      // Cloud Scheduler's RunJob may stamp the dispatch time: 17 s past a minute is never a tick.
      const dispatched = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 43_000).toISOString();
      const first = await harness.invoke(GET_JOB, { scheduleTime: dispatched });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: 'succeeded', tick: `forced-${dispatched}` });
      const retry = await harness.invoke(GET_JOB, { scheduleTime: dispatched });
      expect(retry.body).toMatchObject({ status: 'duplicate' });
      expect(runs.get(GET_JOB)).toBe(1);
    });

    it('takes a tick of a zoned schedule in that zone, summer and winter', async () => {
      expect((await harness.invoke(ZONED_JOB, { scheduleTime: '2026-01-15T08:00:00Z' })).status).toBe(200);
      expect((await harness.invoke(ZONED_JOB, { scheduleTime: '2026-07-15T07:00:00Z' })).status).toBe(200);
      expect(runs.get(ZONED_JOB)).toBe(2);
    });

    it('allows a tick a few seconds ahead of this instance clock, and no more', async () => {
      // This instance's clock is 10 s behind the scheduler's, then 10 s more.
      const clock = new ManualClock('2026-11-23T20:04:50Z');
      const skewed = await createHarness({
        definitions: [testJob('contract-skew', ran('contract-skew'))],
        database: harness.db,
        clock,
      });
      try {
        expect(TICK_CLOCK_SKEW_MS).toBeGreaterThan(10_000);
        expect(TICK_CLOCK_SKEW_MS).toBeLessThan(20_000);
        const early = await skewed.invoke('contract-skew', { scheduleTime: '2026-11-23T20:05:00Z' });
        expect(early.status).toBe(200);
        clock.set('2026-11-23T20:09:40Z');
        const tooEarly = await skewed.invoke('contract-skew', { scheduleTime: '2026-11-23T20:10:00Z' });
        expect(tooEarly.status).toBe(400);
        expect(tooEarly.body.error).toMatch(/20 s in the future/);
        expect(runs.get('contract-skew')).toBe(1);
      } finally {
        await skewed.close();
      }
    });
  });

  describe('refuses anything else, runs nothing and counts it', () => {
    test.each([['post'], ['put'], ['delete'], ['patch']] as const)(
      'answers 405 to %s on a GET job',
      async (method) => {
        const headers = schedulerHeaders(GET_JOB, new Date('2026-11-23T20:05:00Z'), await harness.token());
        const res = await serve(GET_JOB)[method]('/').set(headers);
        await expectRefused(GET_JOB, 'method', 405, res);
        expect(res.headers.allow).toBe('GET');
      },
    );

    it('answers 405 to GET on a POST job', async () => {
      const headers = schedulerHeaders(POST_JOB, new Date('2026-11-23T20:05:00Z'), await harness.token());
      const res = await serve(POST_JOB).get('/').set(headers);
      await expectRefused(POST_JOB, 'method', 405, res);
      expect(res.headers.allow).toBe('POST');
    });

    test.each([['/admin'], ['/contract-post'], ['/contract-get/extra']])(
      'answers 404 to path %p',
      async (path) => {
        const headers = schedulerHeaders(GET_JOB, new Date('2026-11-23T20:05:00Z'), await harness.token());
        const res = await serve(GET_JOB).get(path).set(headers);
        await expectRefused(GET_JOB, 'path', 404, res);
      },
    );

    test.each([
      ['a small JSON body', JSON.stringify({ run: 'please' }), 'application/json'],
      ['a 20 MB body', Buffer.alloc(20 * 1024 * 1024, 'x'), 'application/octet-stream'],
    ])('answers 413 to %s', async (_name, body, type) => {
      const headers = schedulerHeaders(POST_JOB, new Date('2026-11-23T20:05:00Z'), await harness.token());
      delete headers['content-length'];
      const res = await serve(POST_JOB).post('/').set(headers).set('content-type', type).send(body);
      await expectRefused(POST_JOB, 'body', 413, res);
    });

    test.each([
      ['ten years ahead', '2036-11-23T20:05:00Z', /in the future/],
      ['the next tick, ahead of its time', () => nextTick(), /in the future/],
      ['not a minute of the cron', '2026-11-23T20:07:00Z', /not a tick of this job's schedule/],
      ['a tick plus seconds', '2026-11-23T20:05:30Z', /not a tick of this job's schedule/],
      ['the UTC hour of a zoned cron', '2026-01-15T09:00:00Z', /not a tick of this job's schedule/],
      ['not a time at all', 'tomorrow', /not an RFC 3339 time/],
    ])('answers 400 to a schedule time %s', async (name, time, message) => {
      const job = name.includes('zoned') ? ZONED_JOB : GET_JOB;
      const scheduleTime = typeof time === 'function' ? time() : time;
      const res = await harness.invoke(job, { scheduleTime });
      await expectRefused(job, 'tick', 400, res);
      expect(res.body.error).toMatch(message);
    });

    it('checks the token before the tick, and counts an auth refusal', async () => {
      const res = await harness.invoke(GET_JOB, { scheduleTime: '2036-11-23T20:05:00Z', token: null });
      await expectRefused(GET_JOB, 'auth', 401, res);
    });
  });
});

/** The next tick of the every-5-minutes cron at least a minute away: real, but not due yet. */
function nextTick(): string {
  const step = 300_000;
  return new Date(Math.ceil((Date.now() + 60_000) / step) * step).toISOString();
}
