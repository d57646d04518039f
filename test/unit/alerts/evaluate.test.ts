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

/** `count` attempts with the given outcome, spread over the last `spreadMs`. */
const attempts = (
  count: number,
  outcome: AttemptOutcome,
  spreadMs = MIN,
  jobId = 'cleanup-worker',
): FinishedAttempt[] =>
  Array.from({ length: count }, (_, i) => ({
    jobId,
    outcome,
    finishedAt: ago(((i + 1) * spreadMs) / (count + 1)),
    exhausted: false,
  }));

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
  it('forgets an exhausted tick after 10 minutes', () => {
    const snap = snapshot({
      attempts: [{ jobId: 'cleanup-worker', outcome: 'failed', finishedAt: ago(11 * MIN), exhausted: true }],
    });
    expect(firing(snap, 'FailedJobs', 'cleanup-worker')).toBe(false);
  });
});

describe('failure rates', () => {
  it.each([
    // [failed, succeeded, warning fires, critical fires]: 5-minute and 2-minute windows.
    [1, 9, false, false], // exactly 10 %: not above
    [2, 17, true, false], // 10.5 %
    [1, 3, true, false], // 25 %: warning yes, critical not above
    [3, 8, true, true], // 27 %
  ])('%d failed of %d succeeded: warning %s, critical %s', (failed, succeeded, warning, critical) => {
    const snap = snapshot({ attempts: [...attempts(failed, 'failed'), ...attempts(succeeded, 'succeeded')] });
    expect(firing(snap, 'JobFailureRate')).toBe(warning);
    expect(firing(snap, 'JobFailureRateCritical')).toBe(critical);
  });

  it('does not fire on fewer than 3 attempts, and holds its state instead of resolving', () => {
    const snap = snapshot({ attempts: [...attempts(1, 'failed'), ...attempts(1, 'succeeded')] });
    const verdict = evaluate(ALERT_RULES, snap).find((v) => v.alertId === 'JobFailureRateCritical');
    expect(verdict).toMatchObject({ firing: false, holds: true });
  });

  it('clears on any attempt below the threshold, and holds on an empty window', () => {
    const clear = evaluate(ALERT_RULES, snapshot({ attempts: attempts(1, 'succeeded') })).find(
      (v) => v.alertId === 'JobFailureRateCritical',
    );
    expect(clear).toMatchObject({ firing: false, holds: false });
    const empty = evaluate(ALERT_RULES, snapshot({ attempts: [] })).find(
      (v) => v.alertId === 'JobFailureRateCritical',
    );
    expect(empty).toMatchObject({ firing: false, holds: true });
  });

  it('only counts attempts inside the window', () => {
    const old = attempts(5, 'failed').map((attempt) => ({ ...attempt, finishedAt: ago(6 * MIN) }));
    expect(firing(snapshot({ attempts: [...old, ...attempts(5, 'succeeded')] }), 'JobFailureRate')).toBe(
      false,
    );
  });
});

describe('JobQueueBacklog', () => {
  it.each([
    [9, 1, false], // 90 % succeeded: not below
    [8, 1, true], // 88.9 %
  ])('%d succeeded, %d skipped: fires %s', (succeeded, skipped, fires) => {
    const snap = snapshot({
      attempts: [...attempts(succeeded, 'succeeded', 8 * MIN), ...attempts(skipped, 'skipped', 8 * MIN)],
    });
    expect(firing(snap, 'JobQueueBacklog')).toBe(fires);
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

it('loads attempts as far back as the longest rate or exhaustion window', () => {
  expect(lookbackMs(ALERT_RULES)).toBe(10 * MIN);
});
