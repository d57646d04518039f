/**
 * report(): every outcome becomes one answer, its log events and its metric, from one table. 2xx is
 * kept for a success or a deliberate skip, so Cloud Scheduler retries everything else.
 */
import { ConfigError, StepsFailedError } from '../../../functions/core/errors';
import { errorList } from '../../../functions/core/execute';
import { createLogger, SecretRegistry } from '../../../functions/core/logger';
import { memoryWriter } from '../../support/memory-writer';
import type { Outcome } from '../../../functions/core/outcome';
import { report, reportAbandoned } from '../../../functions/core/report';
import { LocalSignalSink } from '../../../functions/core/signals';

const tick = { id: '2026-11-23T20:05:00.000Z', scheduledAt: new Date('2026-11-23T20:05:00Z'), manual: false };
const ran = { tick, attempt: 2, durationMs: 1200, maxAttempts: 4 };

const cases: [string, Outcome, number, Record<string, unknown>, string[], string | undefined][] = [
  [
    'a success',
    { ...ran, kind: 'succeeded', result: { rows: 3 } },
    200,
    { ok: true, status: 'succeeded', attempt: 2, result: { rows: 3 } },
    ['succeeded'],
    'succeeded',
  ],
  [
    'a skip',
    { kind: 'skipped', tick, reason: 'tick x is running' },
    200,
    { ok: true, status: 'skipped', reason: 'tick x is running' },
    ['skipped'],
    'skipped',
  ],
  [
    'a duplicate',
    { kind: 'duplicate', tick, succeededAt: new Date('2026-11-23T20:05:02Z') },
    200,
    { ok: true, status: 'duplicate', succeededAt: '2026-11-23T20:05:02.000Z' },
    ['duplicate'],
    'skipped',
  ],
  [
    'the same tick in progress',
    { kind: 'in_progress', tick, reason: 'running elsewhere' },
    409,
    { ok: false, status: 'in_progress' },
    ['duplicate'],
    'skipped',
  ],
  [
    'a deferred must-run tick',
    { kind: 'deferred', tick, reason: 'tick y is running', attempt: 1, exhausted: false },
    409,
    { ok: false, status: 'deferred', attempt: 1, exhausted: false },
    ['deferred'],
    'skipped',
  ],
  [
    'a deferral on the last attempt',
    { kind: 'deferred', tick, reason: 'tick y is running', attempt: 4, exhausted: true },
    409,
    { ok: false, status: 'deferred', exhausted: true },
    ['deferred', 'exhausted'],
    'skipped',
  ],
  [
    'a failure',
    { ...ran, kind: 'failed', errors: ['boom'], exhausted: false },
    500,
    { ok: false, status: 'failed', errors: ['boom'], exhausted: false },
    ['failed'],
    'failed',
  ],
  [
    'a timeout on the last attempt',
    { ...ran, kind: 'failed', errors: ['timed out'], exhausted: true, timedOutAfterMs: 1000 },
    504,
    { ok: false, status: 'failed', exhausted: true },
    ['timed_out', 'failed', 'exhausted'],
    'failed',
  ],
  [
    'an unreachable ledger',
    { kind: 'unavailable', tick, error: 'connect ECONNREFUSED', attempt: 0 },
    503,
    { ok: false, status: 'unavailable' },
    ['failed'],
    'failed',
  ],
  [
    'a refusal',
    { kind: 'refused', reason: 'tick', status: 400, error: 'not a tick' },
    400,
    { ok: false, status: 'rejected', reason: 'tick', error: 'not a tick' },
    ['rejected'],
    undefined,
  ],
];

describe('report', () => {
  test.each(cases)(
    '%s: answers %p, logs and counts it once',
    async (_name, outcome, status, body, events, metric) => {
      const out = memoryWriter();
      const sink = new LocalSignalSink();
      const logger = createLogger({ write: out.write, secrets: new SecretRegistry() });
      const at = new Date('2026-11-23T20:05:01Z');
      const answer = await report(outcome, {
        jobId: 'j',
        logger,
        sink,
        startedAt: at,
        finishedAt: at,
        arrivedAt: 0,
      });
      expect(answer.status).toBe(status);
      expect(answer.body).toMatchObject(body);
      expect(answer.body.ok).toBe(status < 300);
      expect(out.entries().map((entry) => entry.event)).toEqual(events);
      const tally = sink.tallies.get('j');
      if (metric === undefined) {
        expect(tally).toMatchObject({ refused: { tick: 1 }, succeeded: 0, failed: 0, skipped: 0 });
      } else {
        expect(sink.finished.map((signal) => signal.outcome)).toEqual([metric]);
        expect(tally?.exhausted).toBe(events.includes('exhausted') ? 1 : 0);
      }
    },
  );

  it('answers 405 with the allowed method', async () => {
    const answer = await report(
      { kind: 'refused', reason: 'method', status: 405, error: 'GET only', headers: { Allow: 'GET' } },
      {
        jobId: 'j',
        logger: createLogger({ write: () => undefined }),
        sink: new LocalSignalSink(),
        startedAt: new Date(),
        finishedAt: new Date(),
        arrivedAt: 0,
      },
    );
    expect(answer).toMatchObject({ status: 405, headers: { Allow: 'GET' } });
  });

  it('logs and counts each abandoned attempt the lock found, as failed', async () => {
    const sink = new LocalSignalSink();
    const out = memoryWriter();
    const orphan = {
      tickId: 'earlier',
      attempt: 1,
      exhausted: true,
      startedAt: new Date('2026-11-23T19:00:00Z'),
    };
    const logger = createLogger({ write: out.write });
    await reportAbandoned([orphan], { jobId: 'j', logger, sink, startedAt: new Date() });
    await report(
      { ...ran, kind: 'succeeded', result: {} },
      { jobId: 'j', logger, sink, startedAt: new Date(), finishedAt: new Date(), arrivedAt: 0 },
    );
    expect(out.entries().map((entry) => entry.event)).toEqual(['abandoned', 'exhausted', 'succeeded']);
    expect(sink.finished.map((signal) => [signal.tickId, signal.outcome, signal.exhausted])).toEqual([
      ['earlier', 'failed', true],
      [tick.id, 'succeeded', false],
    ]);
  });
});

describe('errorList', () => {
  test.each([
    [new Error('boom'), ['boom']],
    ['a string', ['a string']],
    [
      new StepsFailedError(
        [
          { step: 'a', error: 'x' },
          { step: 'b', error: 'y' },
        ],
        {},
      ),
      ['a: x', 'b: y'],
    ],
    [new ConfigError('job', ['A bad', 'B bad']), ['config: A bad', 'config: B bad']],
    [new Error('outer', { cause: new Error('inner') }), ['outer: inner']],
  ])('errorList(%p) is %p', (error, list) => {
    expect(errorList(error)).toEqual(list);
  });
});
