/**
 * The time-travel simulator over the real runtime and a real ledger: each scenario of the issue,
 * with the virtual time at which each alert must fire and resolve. Timing bounds come from the
 * catalog (jobTiming) and the rules, never from typed-in numbers, so they follow the catalog.
 */
import { jobTiming } from '../../functions/alerts/windows';
import { cleanupWorker } from '../../functions/catalog';
import { noConfig } from '../../functions/core/config';
import { DEFAULT_BACKOFF } from '../../functions/core/job-spec';
import type { JobSpec } from '../../functions/core/job-spec';
import { simulate } from '../../simulator/engine';
import type { RequestRecord, SimulationResult } from '../../simulator/engine';
import { NOT_THE_FUNCTION } from '../../simulator/function-servers';
import type { Scenario } from '../../simulator/scenario';
import type { Transition } from '../../simulator/timeline';
import { createTestDatabase } from '../support/database';

const MIN = 60_000;
const HOUR = 60 * MIN;
const S = Date.parse('2026-03-27T00:00:00Z');
const CLEANUP_WINDOW = jobTiming(cleanupWorker).windowMs;

/**
 * A second job, so the fleet keeps working while the job under test does not. Its ticks are at most
 * 8 minutes apart, so the fleet is never idle for JobProcessingStalled's 10 minutes on its own.
 */
const companion: JobSpec = {
  id: 'report-mailer',
  description: 'simulator test job: a companion on a schedule of its own',
  schedule: { cron: '*/8 * * * *', timeZone: 'Etc/UTC' },
  httpMethod: 'POST',
  timeoutMs: 60_000,
  attemptDeadlineMs: 90_000,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  missedTicksBeforeAlert: 3,
  config: noConfig,
  roles: [],
  memoryMb: 256,
};

async function run(
  scenario: Scenario,
  jobs: readonly JobSpec[] = [cleanupWorker],
): Promise<SimulationResult> {
  const database = await createTestDatabase(4);
  try {
    return await simulate({ db: database.pool, scenario, jobs });
  } finally {
    await database.drop();
  }
}

const find = (result: SimulationResult, kind: Transition['kind'], alertId: string, subject: string) =>
  result.transitions.filter(
    (transition) =>
      transition.kind === kind && transition.alertId === alertId && transition.subject === subject,
  );

const only = <T>(items: readonly T[]): T => {
  expect(items).toHaveLength(1);
  return items[0];
};

const succeeded = (request: RequestRecord) => request.ok && request.answer === 'succeeded';

describe('simulator: a job that fails from time T', () => {
  const T = S + 10 * HOUR;
  const RECOVERY = T + 2 * HOUR;
  let result: SimulationResult;
  beforeAll(async () => {
    result = await run({
      startMs: S,
      endMs: S + 14 * HOUR,
      seed: 7,
      faults: [{ kind: 'fail', jobId: cleanupWorker.id, window: { fromMs: T, toMs: RECOVERY } }],
    });
  }, 120_000);

  it('fires nothing before T', () => {
    expect(result.transitions.filter((transition) => transition.atMs < T)).toEqual([]);
  });

  it('fires ForwardProgressFailed for the job one window after its last success', () => {
    const lastSuccess = Math.max(
      ...result.requests.filter((r) => succeeded(r) && r.answeredMs < T).map((r) => r.answeredMs),
    );
    const fired = only(find(result, 'FIRED', 'ForwardProgressFailed', cleanupWorker.id));
    expect(fired.atMs).toBeGreaterThan(T);
    expect(fired.atMs).toBeLessThanOrEqual(T + CLEANUP_WINDOW + 2 * MIN);
    // The first evaluation after the window ran out: they happen every virtual minute at least.
    expect(fired.atMs).toBeGreaterThan(lastSuccess + CLEANUP_WINDOW);
    expect(fired.atMs).toBeLessThanOrEqual(lastSuccess + CLEANUP_WINDOW + MIN);
    expect(fired.detail).toContain(`last success ${new Date(lastSuccess).toISOString()}`);
  });

  it('resolves ForwardProgressFailed with the first success after recovery', () => {
    const firstSuccess = Math.min(
      ...result.requests.filter((r) => succeeded(r) && r.sentMs >= RECOVERY).map((r) => r.answeredMs),
    );
    const resolved = only(find(result, 'RESOLVED', 'ForwardProgressFailed', cleanupWorker.id));
    expect(resolved.atMs).toBe(firstSuccess);
    expect(firstSuccess - RECOVERY).toBeLessThan(MIN);
  });

  it('fires FailedJobs at the first exhausted tick and resolves 30 minutes after the last', () => {
    const exhausted = result.requests.filter((request) => request.exhausted);
    // Every tick in the window: its first attempt and both retries fail.
    expect(exhausted).toHaveLength((RECOVERY - T) / (5 * MIN));
    const fired = only(find(result, 'FIRED', 'FailedJobs', cleanupWorker.id));
    expect(fired.atMs).toBe(exhausted[0].answeredMs);
    const resolved = only(find(result, 'RESOLVED', 'FailedJobs', cleanupWorker.id));
    const last = exhausted[exhausted.length - 1].answeredMs;
    expect(resolved.atMs).toBeGreaterThanOrEqual(last + 30 * MIN);
    expect(resolved.atMs).toBeLessThanOrEqual(last + 31 * MIN);
  });

  it('leaves nothing firing once the job has recovered', () => {
    expect(result.tracker.stillFiring()).toEqual([]);
  });
});

describe('simulator: one tick that fails on every retry', () => {
  const T = S + 3 * HOUR;
  let result: SimulationResult;
  beforeAll(async () => {
    result = await run({
      startMs: S,
      endMs: S + 4 * HOUR,
      seed: 3,
      faults: [{ kind: 'fail', jobId: cleanupWorker.id, window: { fromMs: T, toMs: T + MIN } }],
    });
  }, 120_000);

  it('makes retryCount + 1 attempts, the last one exhausted, then the next tick succeeds', () => {
    const tick = result.requests.filter((request) => request.tickMs === T);
    expect(tick.map((request) => [request.retry, request.answer, request.exhausted])).toEqual([
      [0, 'failed', false],
      [1, 'failed', false],
      [2, 'failed', true],
    ]);
    const next = result.requests.filter((request) => request.tickMs === T + 5 * MIN);
    expect(next.map((request) => request.answer)).toEqual(['succeeded']);
  });

  it('fires FailedJobs as the last retry fails, and no ForwardProgressFailed', () => {
    const exhausted = only(result.requests.filter((request) => request.exhausted));
    const fired = only(find(result, 'FIRED', 'FailedJobs', cleanupWorker.id));
    expect(fired.atMs).toBe(exhausted.answeredMs);
    expect(fired.detail).toBe('1 exhausted tick(s) in the last 30 min');
    const resolved = only(find(result, 'RESOLVED', 'FailedJobs', cleanupWorker.id));
    expect(resolved.atMs).toBeGreaterThanOrEqual(exhausted.answeredMs + 30 * MIN);
    expect(resolved.atMs).toBeLessThanOrEqual(exhausted.answeredMs + 31 * MIN);
    expect(find(result, 'FIRED', 'ForwardProgressFailed', cleanupWorker.id)).toEqual([]);
  });
});

describe('simulator: the whole fleet stops', () => {
  const T = S + 2 * HOUR;
  let result: SimulationResult;
  beforeAll(async () => {
    result = await run(
      {
        startMs: S,
        endMs: S + 5 * HOUR,
        seed: 11,
        faults: [{ kind: 'fleet-outage', window: { fromMs: T, toMs: Infinity } }],
      },
      [cleanupWorker, companion],
    );
  }, 120_000);

  const lastAnswer = (jobId?: string) =>
    Math.max(
      ...result.requests.filter((r) => jobId === undefined || r.jobId === jobId).map((r) => r.answeredMs),
    );

  it('sends nothing from T on', () => {
    expect(result.requests.filter((request) => request.sentMs >= T)).toEqual([]);
    expect(result.dropped.every((drop) => drop.reason === 'fleet-outage' && drop.atMs >= T)).toBe(true);
  });

  it('fires JobProcessingStalled once the fleet has been idle for 10 minutes', () => {
    const fired = only(find(result, 'FIRED', 'JobProcessingStalled', 'fleet'));
    expect(fired.atMs).toBeGreaterThan(lastAnswer() + 10 * MIN);
    expect(fired.atMs).toBeLessThanOrEqual(lastAnswer() + 11 * MIN);
  });

  it('fires ForwardProgressFailed for each job later, one window after its own last success', () => {
    const stalled = only(find(result, 'FIRED', 'JobProcessingStalled', 'fleet')).atMs;
    for (const job of [cleanupWorker, companion]) {
      const window = jobTiming(job).windowMs;
      const fired = only(find(result, 'FIRED', 'ForwardProgressFailed', job.id));
      expect(fired.atMs).toBeGreaterThan(stalled);
      expect(fired.atMs).toBeGreaterThan(lastAnswer(job.id) + window);
      expect(fired.atMs).toBeLessThanOrEqual(lastAnswer(job.id) + window + MIN);
    }
  });
});

describe('simulator: a job that was never deployed', () => {
  let result: SimulationResult;
  beforeAll(async () => {
    result = await run(
      {
        startMs: S,
        endMs: S + 2 * HOUR,
        seed: 5,
        faults: [{ kind: 'never-deployed', jobId: cleanupWorker.id }],
      },
      [cleanupWorker, companion],
    );
  }, 120_000);

  it('never receives a request', () => {
    expect(result.requests.filter((request) => request.jobId === cleanupWorker.id)).toEqual([]);
    expect(result.dropped.filter((drop) => drop.jobId === cleanupWorker.id)).toHaveLength(24);
  });

  it('fires ForwardProgressFailed one window after the simulation starts, not never', () => {
    const fired = only(find(result, 'FIRED', 'ForwardProgressFailed', cleanupWorker.id));
    expect(fired.atMs).toBeGreaterThan(S + CLEANUP_WINDOW);
    expect(fired.atMs).toBeLessThanOrEqual(S + CLEANUP_WINDOW + MIN);
    expect(fired.detail).toContain(`no success since it was first expected at ${new Date(S).toISOString()}`);
  });

  it('fires nothing else: the rest of the fleet is healthy', () => {
    expect(result.transitions.map((t) => `${t.kind} ${t.alertId} ${t.subject}`)).toEqual([
      `FIRED ForwardProgressFailed ${cleanupWorker.id}`,
    ]);
  });
});

describe('simulator: tokens for another audience, from time T', () => {
  const T = S + 2 * HOUR;
  const FIXED = T + HOUR;
  let result: SimulationResult;
  beforeAll(async () => {
    result = await run({
      startMs: S,
      endMs: S + 4 * HOUR,
      seed: 11,
      faults: [{ kind: 'auth-broken', jobId: cleanupWorker.id, window: { fromMs: T, toMs: FIXED } }],
    });
  }, 120_000);

  it("is refused 401 by Cloud Run's IAM front, before the function", () => {
    const refused = result.requests.filter((r) => r.sentMs >= T && r.sentMs < FIXED);
    expect(refused.length).toBeGreaterThan(0);
    for (const request of refused) {
      expect(request).toMatchObject({ status: 401, answer: NOT_THE_FUNCTION, ok: false });
    }
  });

  it('runs every tick before and after the fault', () => {
    const outside = result.requests.filter(
      (r) => r.retry === 0 && (r.sentMs < T || r.sentMs >= FIXED + 10 * MIN),
    );
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.every((r) => r.status === 200)).toBe(true);
  });
});
