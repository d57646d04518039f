import { evaluate, lookbackMs } from '../../../functions/alerts/evaluate';
import type { FinishedAttempt, FleetSnapshot, JobProgress } from '../../../functions/alerts/evaluate';
import { ALERT_RULES } from '../../../functions/alerts/rules';
import type { AlertId } from '../../../functions/alerts/rules';
import type { AttemptOutcome } from '../../../functions/core/signals';

const NOW = new Date('2026-11-23T12:00:00Z');
const MIN = 60_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

const job = (overrides: Partial<JobProgress> = {}): JobProgress => ({
  jobId: 'cleanup-worker',
  windowMs: 14 * MIN,
  lastSuccessAt: ago(5 * MIN),
  expectedSince: ago(30 * 24 * 60 * MIN),
  overdueAttempts: 0,
  ...overrides,
});

const snapshot = (overrides: Partial<FleetSnapshot>): FleetSnapshot => ({
  now: NOW,
  jobs: [job()],
  attempts: [],
  ...overrides,
});

const firing = (snap: FleetSnapshot, id: AlertId, subject = 'fleet') =>
  evaluate(ALERT_RULES, snap).find((verdict) => verdict.alertId === id && verdict.subject === subject)
    ?.firing;

describe('ForwardProgressFailed', () => {
  it('stays quiet within the window', () => {
    expect(firing(snapshot({}), 'ForwardProgressFailed', 'cleanup-worker')).toBe(false);
  });
  it('fires once the last success is older than the window', () => {
    const late = snapshot({ jobs: [job({ lastSuccessAt: ago(14 * MIN + 1000) })] });
    expect(firing(late, 'ForwardProgressFailed', 'cleanup-worker')).toBe(true);
  });
  it('fires for a job that never succeeded once it has been expected for a window', () => {
    const never = (sinceMs: number) =>
      snapshot({ jobs: [job({ lastSuccessAt: undefined, expectedSince: ago(sinceMs) })] });
    expect(firing(never(10 * MIN), 'ForwardProgressFailed', 'cleanup-worker')).toBe(false);
    expect(firing(never(15 * MIN), 'ForwardProgressFailed', 'cleanup-worker')).toBe(true);
  });
});

describe('FailedJobs', () => {
  it('fires for the job with an exhausted tick in the last 10 minutes, and only for it', () => {
    const snap = snapshot({
      jobs: [job(), job({ jobId: 'appsync-worker' })],
      attempts: [{ jobId: 'cleanup-worker', outcome: 'failed', finishedAt: ago(2 * MIN), exhausted: true }],
    });
    expect(firing(snap, 'FailedJobs', 'cleanup-worker')).toBe(true);
    expect(firing(snap, 'FailedJobs', 'appsync-worker')).toBe(false);
  });
  it('forgets an exhausted tick after 30 minutes', () => {
    const snap = snapshot({
      attempts: [{ jobId: 'cleanup-worker', outcome: 'failed', finishedAt: ago(31 * MIN), exhausted: true }],
    });
    expect(firing(snap, 'FailedJobs', 'cleanup-worker')).toBe(false);
  });
});

/**
 * A steady stream: `perMinute` ticks with this final outcome in each minute from `fromAgo` minutes
 * ago to `toAgo` minutes ago, half a minute off the whole minutes the rules judge at.
 */
const stream = (
  perMinute: number,
  outcome: AttemptOutcome | 'exhausted',
  fromAgo: number,
  toAgo = 0,
  jobId = 'cleanup-worker',
): FinishedAttempt[] =>
  Array.from({ length: fromAgo - toAgo }, (_, minute) =>
    Array.from({ length: perMinute }, () => ({
      jobId,
      outcome: outcome === 'exhausted' ? ('failed' as const) : outcome,
      finishedAt: ago((toAgo + minute + 0.5) * MIN),
      exhausted: outcome === 'exhausted',
    })),
  ).flat();

describe('failure rates', () => {
  it.each([
    // [succeeded, exhausted per minute, warning fires, critical fires] over 40 steady minutes.
    [9, 1, false, false], // exactly 10 %: not above
    [8, 1, true, false], // 11 %
    [3, 1, true, false], // 25 %: warning yes, critical not above
    [2, 1, true, true], // 33 %
  ])('%d succeeded and %d failed ticks a minute: warning %s, critical %s', (ok, bad, warning, critical) => {
    const snap = snapshot({ attempts: [...stream(ok, 'succeeded', 40), ...stream(bad, 'exhausted', 40)] });
    expect(firing(snap, 'JobFailureRate')).toBe(warning);
    expect(firing(snap, 'JobFailureRateCritical')).toBe(critical);
  });

  it('counts ticks: failed attempts that a retry absorbed are no failure at all', () => {
    const snap = snapshot({ attempts: [...stream(2, 'succeeded', 40), ...stream(2, 'failed', 40)] });
    expect(firing(snap, 'JobFailureRate')).toBe(false);
    expect(firing(snap, 'JobFailureRateCritical')).toBe(false);
  });

  it('fires only once the breach has held for the whole duration', () => {
    const breachFor = (minutes: number) =>
      snapshot({ attempts: [...stream(1, 'succeeded', 40), ...stream(10, 'exhausted', minutes)] });
    expect(firing(breachFor(4), 'JobFailureRate')).toBe(false);
    expect(firing(breachFor(5), 'JobFailureRate')).toBe(true);
    expect(firing(breachFor(1), 'JobFailureRateCritical')).toBe(false);
    expect(firing(breachFor(2), 'JobFailureRateCritical')).toBe(true);
  });

  it('stays open until no sustained breach was seen for the recovery hold', () => {
    // Failing from 60 to 40 minutes ago: the 15-minute window is breached until 26 minutes ago.
    const attemptsThen = [...stream(2, 'succeeded', 80), ...stream(5, 'exhausted', 60, 40)];
    const at = (minutesAgo: number) => snapshot({ now: ago(minutesAgo * MIN), attempts: attemptsThen });
    expect(firing(at(30), 'JobFailureRate')).toBe(true);
    expect(firing(at(12), 'JobFailureRate')).toBe(true);
    expect(firing(at(11), 'JobFailureRate')).toBe(false);
  });

  it('judges nothing on fewer than 6 ticks in the window', () => {
    const snap = snapshot({ attempts: stream(1, 'exhausted', 5) });
    expect(firing(snap, 'JobFailureRateCritical')).toBe(false);
    const verdict = evaluate(ALERT_RULES, snap).find((v) => v.alertId === 'JobFailureRateCritical');
    expect(verdict?.detail).toContain('too few to judge');
  });

  it("leaves the watchdog's own ticks out", () => {
    const snap = snapshot({
      attempts: [...stream(1, 'succeeded', 40), ...stream(1, 'exhausted', 40, 0, 'fleet-watchdog')],
    });
    expect(evaluate(ALERT_RULES, snap).find((v) => v.alertId === 'JobFailureRate')?.value).toBe(0);
  });
});

describe('JobQueueBacklog', () => {
  it.each([
    [9, 1, false], // 90 % succeeded: not below
    [8, 1, true], // 88.9 %
  ])('%d succeeded, %d skipped a minute: fires %s', (succeeded, skipped, fires) => {
    const snap = snapshot({
      attempts: [...stream(succeeded, 'succeeded', 40), ...stream(skipped, 'skipped', 40)],
    });
    expect(firing(snap, 'JobQueueBacklog')).toBe(fires);
  });
});

describe('SchedulerAttemptsFailed', () => {
  const failures = (fromAgo: number, status = 'PERMISSION_DENIED') =>
    Array.from({ length: fromAgo }, (_, minute) => ({
      jobId: 'cleanup-worker',
      status,
      at: ago((minute + 0.5) * MIN),
    }));

  it('fires per job and status once every attempt has failed for 5 minutes', () => {
    const verdicts = evaluate(ALERT_RULES, snapshot({ schedulerFailures: failures(6) })).filter(
      (v) => v.alertId === 'SchedulerAttemptsFailed',
    );
    expect(verdicts).toMatchObject([{ subject: 'cleanup-worker', firing: true }]);
    expect(verdicts[0].detail).toContain('status PERMISSION_DENIED');
  });

  it('waits while a success of the job is in the window', () => {
    const snap = snapshot({
      schedulerFailures: failures(6),
      attempts: [
        { jobId: 'cleanup-worker', outcome: 'succeeded', finishedAt: ago(8 * MIN), exhausted: false },
      ],
    });
    expect(firing(snap, 'SchedulerAttemptsFailed', 'cleanup-worker')).toBe(false);
  });

  it('needs no ledger row: a job that never ran still pages', () => {
    const never = snapshot({
      jobs: [job({ lastSuccessAt: undefined })],
      schedulerFailures: failures(5, 'NOT_FOUND'),
    });
    expect(firing(never, 'SchedulerAttemptsFailed', 'cleanup-worker')).toBe(true);
  });
});

describe('RequestsRefused', () => {
  it('fires per job and reason after 5 minutes of refusals in the window', () => {
    const refusals = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        jobId: 'cleanup-worker',
        reason: 'auth',
        at: ago((i + 0.5) * MIN),
      }));
    expect(firing(snapshot({ refusals: refusals(1) }), 'RequestsRefused', 'cleanup-worker')).toBe(false);
    // One refusal stays in the 15-minute window: 5 minutes later the breach has held.
    const old = [{ jobId: 'cleanup-worker', reason: 'auth', at: ago(5.5 * MIN) }];
    expect(firing(snapshot({ refusals: old }), 'RequestsRefused', 'cleanup-worker')).toBe(true);
  });
});

describe('JobProcessingStalled', () => {
  it.each([
    ['nothing finished for 11 minutes after recent activity', 11 * MIN, true],
    ['the last attempt finished 9 minutes ago', 9 * MIN, false],
    ['activity only longer ago than the history (a fleet switched off on purpose)', 25 * 60 * MIN, false],
  ])('%s: fires %s', (_name, idleMs, fires) => {
    expect(firing(snapshot({ lastActivityAt: ago(idleMs as number) }), 'JobProcessingStalled')).toBe(fires);
  });
  it('stays quiet without any history', () => {
    expect(firing(snapshot({ lastActivityAt: undefined }), 'JobProcessingStalled')).toBe(false);
  });
});

it('loads attempts as far back as a window plus its duration and recovery hold', () => {
  // JobQueueBacklog: a 15-minute window, 10 minutes of duration, 15 of recovery, and the minute in progress.
  expect(lookbackMs(ALERT_RULES)).toBe(41 * MIN);
});
