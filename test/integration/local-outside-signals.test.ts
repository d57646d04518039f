/**
 * The local fleet's view of what leaves no ledger row: the failed attempts its scheduler saw and
 * the runtime's refusals. Recorded from the scheduler's answers, kept for the rules' look-back, and
 * handed to the local alert evaluator, so SchedulerAttemptsFailed and RequestsRefused fire under
 * npm start as they would on Google Cloud.
 */
import { lookbackMs } from '../../functions/alerts/evaluate';
import { ALERT_RULES } from '../../functions/alerts/rules';
import type { Transition } from '../../functions/alerts/transitions';
import { cleanupWorker } from '../../functions/catalog';
import { startAlertEvaluator } from '../../local/alert-evaluator';
import { OutsideSignals } from '../../local/outside-signals';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

const T0 = Date.parse('2026-11-23T20:00:00Z');
const MINUTE = 60_000;
const refused = { status: 401, body: { ok: false, status: 'rejected', reason: 'auth', error: 'bad token' } };

describe('OutsideSignals', () => {
  it('keeps a failed attempt with its google.rpc.Code and a refusal with the runtime’s reason', () => {
    const outside = new OutsideSignals(lookbackMs(ALERT_RULES));
    outside.record(cleanupWorker, refused, T0, T0 + 50);
    outside.record(cleanupWorker, { status: 200, body: { ok: true } }, T0 + MINUTE, T0 + MINUTE + 50);
    expect(outside.within(T0 + 2 * MINUTE)).toEqual({
      schedulerFailures: [{ jobId: cleanupWorker.id, status: 'UNAUTHENTICATED', at: new Date(T0 + 50) }],
      refusals: [{ jobId: cleanupWorker.id, reason: 'auth', at: new Date(T0 + 50) }],
    });
  });

  it('counts an answer the runtime did not give as a failure, not a refusal', () => {
    const outside = new OutsideSignals(lookbackMs(ALERT_RULES));
    outside.record(cleanupWorker, { status: 403, body: 'Forbidden' }, T0, T0 + 10);
    outside.record(cleanupWorker, {}, T0 + MINUTE, T0 + MINUTE + cleanupWorker.attemptDeadlineMs + 1);
    const seen = outside.within(T0 + 2 * MINUTE + cleanupWorker.attemptDeadlineMs);
    expect(seen.schedulerFailures?.map((failure) => failure.status)).toEqual([
      'PERMISSION_DENIED',
      'DEADLINE_EXCEEDED',
    ]);
    expect(seen.refusals).toEqual([]);
  });

  it('forgets what is older than the look-back', () => {
    const keep = 10 * MINUTE;
    const outside = new OutsideSignals(keep);
    outside.record(cleanupWorker, refused, T0, T0);
    outside.record(cleanupWorker, refused, T0 + 11 * MINUTE, T0 + 11 * MINUTE);
    expect(outside.within(T0 + 11 * MINUTE).schedulerFailures).toHaveLength(1);
  });
});

describe('the local alert evaluator with outside signals', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('fires SchedulerAttemptsFailed and RequestsRefused for a job refusing every minute', async () => {
    const outside = new OutsideSignals(lookbackMs(ALERT_RULES));
    for (let minute = 0; minute <= 7; minute += 1) {
      const sent = T0 + minute * MINUTE;
      outside.record(cleanupWorker, refused, sent, sent + 20);
    }
    const fired: Transition[] = [];
    const now = new Date(T0 + 7 * MINUTE + 30_000);
    const evaluator = startAlertEvaluator({
      db: db.pool,
      jobs: [cleanupWorker],
      intervalMs: 3_600_000,
      onTransition: (transition) => fired.push(transition),
      outside: (at) => outside.within(at.getTime()),
      now: () => now,
    });
    try {
      await evaluator.evaluateNow();
    } finally {
      evaluator.stop();
    }
    const firing = fired
      .filter((transition) => transition.kind === 'fired')
      .map((transition) => `${transition.verdict.alertId} ${transition.verdict.subject}`);
    expect(firing).toEqual(
      expect.arrayContaining(['SchedulerAttemptsFailed cleanup-worker', 'RequestsRefused cleanup-worker']),
    );
  });
});
