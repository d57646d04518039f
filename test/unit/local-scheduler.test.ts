import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { Scheduler } from '../../local/scheduler';
import type {
  AttemptReport,
  CallRequest,
  CallResult,
  ScheduledJob,
  SchedulerClock,
} from '../../local/scheduler';
import { createHttpCaller } from '../../local/scheduler-http';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A clock that jumps instead of waiting: the scheduler runs through hours of ticks in milliseconds. */
class JumpingClock implements SchedulerClock {
  constructor(public ms: number) {}
  now = () => this.ms;
  sleep = async (ms: number, signal: AbortSignal) => {
    if (!signal.aborted) this.ms += Math.max(0, ms);
  };
}

const BACKOFF = {
  minBackoffMs: 5 * SECOND,
  maxBackoffMs: 3600 * SECOND,
  maxDoublings: 5,
  maxRetryDurationMs: 0,
};

const job = (overrides: Partial<ScheduledJob> = {}): ScheduledJob => ({
  id: 'cleanup-worker',
  cron: '*/5 * * * *',
  timeZone: 'Etc/UTC',
  httpMethod: 'GET',
  url: 'http://127.0.0.1:1',
  retry: { ...BACKOFF, retryCount: 3 },
  attemptDeadlineMs: 30 * SECOND,
  ...overrides,
});

interface Run {
  readonly calls: { at: number; scheduleTime: string; manual?: boolean }[];
  readonly reports: AttemptReport[];
  readonly missed: { missed: number; tickAt: string }[];
}

/** Runs the scheduler until `attempts` attempts were reported, answering with `answer`. */
async function run(options: {
  job: ScheduledJob;
  start: string;
  attempts: number;
  answer: (call: CallRequest, index: number, clock: JumpingClock) => Promise<CallResult> | CallResult;
  runNow?: boolean;
}): Promise<Run> {
  const clock = new JumpingClock(Date.parse(options.start));
  const result: Run = { calls: [], reports: [], missed: [] };
  let done: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const scheduler = new Scheduler([options.job], {
    clock,
    call: async (call) => {
      result.calls.push({
        at: clock.ms,
        scheduleTime: call.scheduleTime.toISOString(),
        ...(call.manual ? { manual: true } : {}),
      });
      return options.answer(call, result.calls.length - 1, clock);
    },
    onAttempt: (report) => {
      result.reports.push(report);
      if (result.reports.length === options.attempts) done();
    },
    onMissedTicks: (_job, missed, tickAt) => result.missed.push({ missed, tickAt: tickAt.toISOString() }),
  });
  scheduler.start({ runNow: options.runNow });
  await finished;
  await scheduler.stop(0);
  return result;
}

describe('Scheduler', () => {
  it('calls at each cron time with that time as the schedule time', async () => {
    const { calls, reports } = await run({
      job: job(),
      start: '2026-01-01T00:03:30Z',
      attempts: 3,
      answer: () => ({ status: 200, body: { status: 'succeeded' } }),
    });
    expect(calls).toEqual([
      { at: Date.parse('2026-01-01T00:05:00Z'), scheduleTime: '2026-01-01T00:05:00.000Z' },
      { at: Date.parse('2026-01-01T00:10:00Z'), scheduleTime: '2026-01-01T00:10:00.000Z' },
      { at: Date.parse('2026-01-01T00:15:00Z'), scheduleTime: '2026-01-01T00:15:00.000Z' },
    ]);
    expect(reports.map((r) => [r.attempt, r.ok, r.next.kind, r.trigger])).toEqual([
      [1, true, 'done', 'schedule'],
      [1, true, 'done', 'schedule'],
      [1, true, 'done', 'schedule'],
    ]);
  });

  it('follows the time zone of the schedule', async () => {
    const { calls } = await run({
      job: job({ cron: '0 9 * * *', timeZone: 'America/New_York' }),
      start: '2026-01-01T00:00:00Z',
      attempts: 1,
      answer: () => ({ status: 200 }),
    });
    expect(calls[0].scheduleTime).toBe('2026-01-01T14:00:00.000Z');
  });

  it('retries a failing tick with the backoff, keeping its schedule time, then gives it up', async () => {
    const { calls, reports } = await run({
      job: job(),
      start: '2026-01-01T00:04:00Z',
      attempts: 5,
      answer: (_call, index) => (index < 4 ? { status: 500, body: { errors: ['boom'] } } : { status: 200 }),
    });
    const tick = Date.parse('2026-01-01T00:05:00Z');
    expect(calls.slice(0, 4)).toEqual(
      [0, 5, 15, 35].map((s) => ({ at: tick + s * SECOND, scheduleTime: '2026-01-01T00:05:00.000Z' })),
    );
    expect(reports.slice(0, 4).map((r) => r.next)).toEqual([
      { kind: 'retry', retry: 1, delayMs: 5 * SECOND, atMs: tick + 5 * SECOND },
      { kind: 'retry', retry: 2, delayMs: 10 * SECOND, atMs: tick + 15 * SECOND },
      { kind: 'retry', retry: 3, delayMs: 20 * SECOND, atMs: tick + 35 * SECOND },
      { kind: 'stop', reason: 'retries-exhausted' },
    ]);
    expect(reports[3]).toMatchObject({ attempt: 4, maxAttempts: 4, ok: false, status: 500 });
    // The next tick is a new tick, first attempt.
    expect(calls[4].scheduleTime).toBe('2026-01-01T00:10:00.000Z');
    expect(reports[4]).toMatchObject({ attempt: 1, ok: true });
  });

  it('stops retrying when the next tick is due', async () => {
    const { calls, reports } = await run({
      job: job({
        cron: '* * * * *',
        retry: { ...BACKOFF, retryCount: 5, minBackoffMs: 20 * SECOND },
      }),
      start: '2026-01-01T00:00:30Z',
      attempts: 3,
      answer: (_call, index) => (index < 2 ? { error: 'connect ECONNREFUSED' } : { status: 200 }),
    });
    expect(reports[1].next).toEqual({ kind: 'stop', reason: 'next-tick-due' });
    expect(calls.map((c) => c.scheduleTime)).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
    ]);
  });

  it('never overlaps a job with itself: a long run delays the next tick and missed ones collapse', async () => {
    const { calls, missed } = await run({
      job: job(),
      start: '2026-01-01T00:04:00Z',
      attempts: 3,
      answer: (_call, index, clock) => {
        if (index === 0) clock.ms += 12 * MINUTE;
        return { status: 200 };
      },
    });
    expect(calls.map((c) => [new Date(c.at).toISOString(), c.scheduleTime])).toEqual([
      ['2026-01-01T00:05:00.000Z', '2026-01-01T00:05:00.000Z'],
      ['2026-01-01T00:17:00.000Z', '2026-01-01T00:15:00.000Z'],
      ['2026-01-01T00:20:00.000Z', '2026-01-01T00:20:00.000Z'],
    ]);
    expect(missed).toEqual([{ missed: 1, tickAt: '2026-01-01T00:15:00.000Z' }]);
  });

  it('with runNow, first calls at once as a manual run reported under the current second', async () => {
    const { calls, reports } = await run({
      job: job(),
      start: '2026-01-01T00:03:30.750Z',
      attempts: 2,
      runNow: true,
      answer: () => ({ status: 200 }),
    });
    expect(calls.map((c) => [c.scheduleTime, c.manual])).toEqual([
      ['2026-01-01T00:03:30.000Z', true],
      ['2026-01-01T00:05:00.000Z', undefined],
    ]);
    expect(reports.map((r) => r.trigger)).toEqual(['run-now', 'schedule']);
  });

  it('stop() waits for a call in flight, then interrupts it after the grace period', async () => {
    const clock = new JumpingClock(Date.parse('2026-01-01T00:04:59Z'));
    const reports: AttemptReport[] = [];
    let inFlight: () => void;
    const started = new Promise<void>((resolve) => (inFlight = resolve));
    const scheduler = new Scheduler([job()], {
      clock,
      call: (call) =>
        new Promise<CallResult>((resolve) => {
          inFlight();
          call.signal.addEventListener('abort', () => resolve({ error: 'interrupted' }));
        }),
      onAttempt: (report) => reports.push(report),
    });
    scheduler.start();
    await started;
    expect(scheduler.inFlight('cleanup-worker')).toMatchObject({ attempt: 1 });
    await expect(scheduler.stop(5 * SECOND)).resolves.toEqual({ interrupted: 1 });
    expect(reports).toHaveLength(1);
    expect(reports[0].next).toEqual({ kind: 'stop', reason: 'scheduler-stopped' });
    expect(scheduler.nextTickAt('cleanup-worker')).toBeNull();
  });

  it('refuses an invalid cron expression up front', () => {
    expect(() => new Scheduler([job({ cron: '61 * * * *' })], { call: async () => ({}) })).toThrow();
  });
});

describe('createHttpCaller (the wire format of a Cloud Scheduler attempt)', () => {
  let server: Server;
  let url: string;
  let seen: { method?: string; headers: IncomingHttpHeaders }[];
  let respond: (res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method, headers: req.headers });
      respond(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  beforeEach(() => {
    seen = [];
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the method, a fresh token for the function URL and the X-CloudScheduler headers', async () => {
    respond = (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"succeeded"}');
    const audiences: string[] = [];
    const call = createHttpCaller(async (audience) => {
      audiences.push(audience);
      return `token-for-${audience}`;
    });
    const result = await call({
      job: job({ url, httpMethod: 'POST' }),
      scheduleTime: new Date('2026-01-01T00:05:00Z'),
      signal: new AbortController().signal,
    });
    expect(result).toEqual({ status: 200, body: { status: 'succeeded' } });
    expect(audiences).toEqual([url]);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].headers).toMatchObject({
      authorization: `Bearer token-for-${url}`,
      'x-cloudscheduler': 'true',
      'x-cloudscheduler-jobname': 'cleanup-worker',
      'x-cloudscheduler-scheduletime': '2026-01-01T00:05:00.000Z',
    });
  });

  it('sends a run-now call its dispatch time as the schedule time, as a forced run carries it', async () => {
    respond = (res) => res.writeHead(200).end('{}');
    await createHttpCaller(async () => 't')({
      job: job({ url }),
      scheduleTime: new Date('2026-01-01T00:03:30Z'),
      manual: true,
      signal: new AbortController().signal,
    });
    expect(seen[0].headers['x-cloudscheduler']).toBe('true');
    expect(seen[0].headers['x-cloudscheduler-scheduletime']).toBe('2026-01-01T00:03:30.000Z');
  });

  it('reports a non-2xx answer with its body', async () => {
    respond = (res) => res.writeHead(503).end('{"status":"unavailable","error":"db down"}');
    const result = await createHttpCaller(async () => 't')({
      job: job({ url }),
      scheduleTime: new Date(),
      signal: new AbortController().signal,
    });
    expect(result).toEqual({ status: 503, body: { status: 'unavailable', error: 'db down' } });
  });

  it('gives up on an answer after the attempt deadline', async () => {
    respond = () => undefined;
    const result = await createHttpCaller(async () => 't')({
      job: job({ url, attemptDeadlineMs: 200 }),
      scheduleTime: new Date(),
      signal: new AbortController().signal,
    });
    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/attempt deadline/);
  });
});

describe('Scheduler pause, resume and run now (what the Cloud Scheduler API drives)', () => {
  /** Jumps like JumpingClock, but yields to the event loop so a paused loop cannot starve the test. */
  class YieldingClock implements SchedulerClock {
    constructor(public ms: number) {}
    now = () => this.ms;
    sleep = async (ms: number, signal: AbortSignal) => {
      if (!signal.aborted) this.ms += Math.max(0, ms);
      await new Promise((resolve) => setImmediate(resolve));
    };
  }
  /** Waits for `condition`, failing (rather than hanging) after a bounded number of turns. */
  const until = async (condition: () => boolean) => {
    for (let turn = 0; !condition(); turn += 1) {
      if (turn > 20_000) throw new Error('the condition never came true');
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  it('lets ticks pass without a call while paused, calls again once resumed, and runs on demand', async () => {
    const clock = new YieldingClock(Date.parse('2026-12-06T00:00:30Z'));
    const calls: { at: number; scheduleTime: string }[] = [];
    const reports: AttemptReport[] = [];
    const scheduler = new Scheduler([job()], {
      clock,
      call: async (call) => {
        calls.push({ at: clock.ms, scheduleTime: call.scheduleTime.toISOString() });
        return { status: 200 };
      },
      onAttempt: (report) => reports.push(report),
    });
    scheduler.pause('cleanup-worker');
    expect(scheduler.isPaused('cleanup-worker')).toBe(true);
    scheduler.start();
    await until(() => clock.ms >= Date.parse('2026-12-06T00:20:00Z'));
    expect(calls).toEqual([]);

    // Run now: dispatched even while paused, stamped with the current second.
    clock.ms = Date.parse('2026-12-06T00:21:07.400Z');
    const tickAt = scheduler.runNow('cleanup-worker');
    expect(tickAt.toISOString()).toBe('2026-12-06T00:21:07.000Z');
    await until(() => reports.length === 1);
    expect(reports[0]).toEqual(expect.objectContaining({ trigger: 'run-now', ok: true }));

    scheduler.resume('cleanup-worker');
    await until(() => calls.length === 2);
    expect(calls[1].scheduleTime).toMatch(/^2026-12-06T00:(2|3)[05]:00\.000Z$/);
    await scheduler.stop(0);
    expect(() => scheduler.runNow('cleanup-worker')).toThrow(/stopping/);
    expect(() => scheduler.pause('no-such-job')).toThrow(/not scheduled/);
  });
});
