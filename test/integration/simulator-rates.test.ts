/**
 * The simulator's fleet-wide ratio alerts on either side of their thresholds, the timeout and
 * duplicate faults through the real runtime, and the engine's own promises: a run replays
 * identically from its seed, and carrying a snapshot forward between attempts gives exactly the
 * verdicts that reading the ledger every minute gives.
 */
import { ALERT_RULES } from '../../functions/alerts/rules';
import { cleanupWorker } from '../../functions/catalog';
import { noConfig } from '../../functions/core/config';
import { DEFAULT_BACKOFF } from '../../functions/core/job-spec';
import type { JobSpec } from '../../functions/core/job-spec';
import { simulate } from '../../simulator/engine';
import type { SimulationOptions, SimulationResult } from '../../simulator/engine';
import type { Fault, Scenario } from '../../simulator/scenario';
import { createTestDatabase } from '../support/database';

const SECOND = 1_000;
const MIN = 60 * SECOND;
const S = Date.parse('2026-03-27T00:00:00Z');

async function run(
  scenario: Scenario,
  jobs: readonly JobSpec[],
  options: Partial<SimulationOptions> = {},
): Promise<SimulationResult> {
  const database = await createTestDatabase(4);
  try {
    return await simulate({ ...options, db: database.pool, scenario, jobs });
  } finally {
    await database.drop();
  }
}

/** A job every minute with no retries: each tick is exactly one attempt. */
const minutely = (id: string): JobSpec => ({
  id,
  description: 'simulator test job: every minute, no retries',
  schedule: { cron: '* * * * *', timeZone: 'Etc/UTC' },
  httpMethod: 'GET',
  timeoutMs: 10 * SECOND,
  attemptDeadlineMs: 15 * SECOND,
  retry: { ...DEFAULT_BACKOFF, retryCount: 0 },
  missedTicksBeforeAlert: 3,
  config: noConfig,
  roles: [],
  memoryMb: 256,
});

describe('simulator: failure rates on either side of the thresholds', () => {
  // Every attempt takes exactly one second and all jobs tick each minute together, so every
  // evaluation's trailing window holds whole minutes of the fleet, always in the same proportion:
  // the rate is the same at every evaluation, and it is `failing / (healthy + failing)`.
  it.each([
    ['JobFailureRate', 10, 1, 'under', 1 / 11],
    ['JobFailureRate', 8, 1, 'over', 1 / 9],
    ['JobFailureRateCritical', 7, 2, 'under', 2 / 9],
    ['JobFailureRateCritical', 5, 2, 'over', 2 / 7],
  ] as const)(
    '%s with %d healthy and %d failing jobs is %s its threshold',
    async (alertId, healthy, failing, side, rate) => {
      const jobs = [
        ...Array.from({ length: healthy }, (_, index) => minutely(`healthy-${index + 1}`)),
        ...Array.from({ length: failing }, (_, index) => minutely(`failing-${index + 1}`)),
      ];
      const faults: Fault[] = jobs
        .filter((job) => job.id.startsWith('failing-'))
        .map((job) => ({ kind: 'fail', jobId: job.id, window: { fromMs: S, toMs: Infinity } }));
      const result = await run(
        { startMs: S, endMs: S + 10 * MIN, seed: 1, faults, runDurationMs: { minMs: SECOND, maxMs: SECOND } },
        jobs,
      );
      expect(result.tracker.peak(alertId, 'fleet')).toBeCloseTo(rate, 10);
      const fired = result.transitions.filter((t) => t.alertId === alertId && t.kind === 'FIRED');
      if (side === 'under') {
        expect(fired).toEqual([]);
      } else {
        // Breached from the first whole minute after the first attempts, at every minute for the
        // rule's duration: it fires at that duration's last minute, once.
        const rule = ALERT_RULES.find((candidate) => candidate.id === alertId);
        if (rule?.condition.kind !== 'ratio') throw new Error(`${alertId} is a ratio rule`);
        expect(fired.map((t) => t.atMs)).toEqual([S + rule.condition.forMs]);
        expect(fired[0].detail).toContain(`(${(rate * 100).toFixed(1)} %)`);
        expect(result.tracker.stillFiring().map((verdict) => verdict.alertId)).toContain(alertId);
      }
    },
    60_000,
  );
});

describe('simulator: faults through the real runtime', () => {
  it('a timeout costs the job its whole timeout on every attempt and exhausts the tick', async () => {
    const T = S + 30 * MIN;
    const lines: string[] = [];
    const result = await run(
      {
        startMs: S,
        endMs: S + 60 * MIN,
        seed: 9,
        faults: [{ kind: 'timeout', jobId: cleanupWorker.id, window: { fromMs: T, toMs: T + 4 * MIN } }],
      },
      [cleanupWorker],
      { writeLine: (line) => lines.push(line) },
    );
    const tick = result.requests.filter((request) => request.tickMs === T);
    expect(
      tick.map((request) => [request.status, request.answeredMs - request.sentMs, request.exhausted]),
    ).toEqual([
      [504, cleanupWorker.timeoutMs, false],
      [504, cleanupWorker.timeoutMs, false],
      [504, cleanupWorker.timeoutMs, true],
    ]);
    // Cloud Scheduler's backoffs for cleanup-worker: 10 s, then 20 s, each after the answer.
    expect(tick[1].sentMs - tick[0].answeredMs).toBe(10 * SECOND);
    expect(tick[2].sentMs - tick[1].answeredMs).toBe(20 * SECOND);
    const timedOut = lines
      .map((line) => JSON.parse(line) as { event?: string })
      .filter((entry) => entry.event === 'timed_out');
    expect(timedOut).toHaveLength(3);
    const failedJobs = result.transitions.filter((t) => t.alertId === 'FailedJobs' && t.kind === 'FIRED');
    expect(failedJobs.map((t) => t.atMs)).toEqual([tick[2].answeredMs]);
  }, 60_000);

  it('duplicate deliveries are answered as duplicates: JobQueueBacklog fires, the failure rates do not', async () => {
    const result = await run(
      {
        startMs: S,
        endMs: S + 60 * MIN,
        seed: 4,
        faults: [{ kind: 'duplicate', jobId: cleanupWorker.id, window: { fromMs: S, toMs: Infinity } }],
      },
      [cleanupWorker],
    );
    expect(
      result.requests.filter((request) => !request.duplicate).every((r) => r.answer === 'succeeded'),
    ).toBe(true);
    expect(
      result.requests.filter((request) => request.duplicate).every((r) => r.answer === 'duplicate'),
    ).toBe(true);
    // Two answers per tick, one of them a success: 50 %. Judged once three ticks (six answers) are
    // in the window, at minute 11, and breached at every minute for 10 minutes: minute 20.
    expect(result.transitions.map((t) => [t.kind, t.alertId, t.atMs])).toEqual([
      ['FIRED', 'JobQueueBacklog', S + 20 * MIN],
    ]);
  }, 60_000);
});

describe('simulator: the engine', () => {
  const T = S + 60 * MIN;
  const mixed: Scenario = {
    startMs: S,
    endMs: S + 3 * 60 * MIN,
    seed: 42,
    faults: [
      { kind: 'fail', jobId: cleanupWorker.id, window: { fromMs: T, toMs: T + 40 * MIN } },
      { kind: 'timeout', jobId: cleanupWorker.id, window: { fromMs: T + 50 * MIN, toMs: T + 55 * MIN } },
      { kind: 'duplicate', jobId: 'every-minute', window: { fromMs: S, toMs: T } },
      { kind: 'outage', jobId: 'every-minute', window: { fromMs: T + 20 * MIN, toMs: T + 80 * MIN } },
      { kind: 'fail-rate', jobId: 'every-minute', probability: 0.3, window: { fromMs: S, toMs: Infinity } },
    ],
  };
  const jobs = [cleanupWorker, minutely('every-minute')];
  let carried: SimulationResult;
  let exact: SimulationResult;
  beforeAll(async () => {
    carried = await run(mixed, jobs);
    exact = await run(mixed, jobs, { exactSnapshots: true });
  }, 120_000);

  it('replays identically from the same seed', () => {
    expect(exact.requests).toEqual(carried.requests);
    expect(carried.requests.length).toBeGreaterThan(200);
  });

  it('gives the same timeline with snapshots carried forward as with the ledger read every minute', () => {
    expect(carried.transitions.length).toBeGreaterThan(5);
    expect(carried.transitions).toEqual(exact.transitions);
    expect(exact.stats.databaseSnapshots).toBeGreaterThan(carried.stats.databaseSnapshots);
  });

  it('draws other failures from another seed', async () => {
    const other = await run({ ...mixed, seed: 43 }, jobs);
    const outcomes = (result: SimulationResult) =>
      result.requests.filter((r) => r.jobId === 'every-minute').map((r) => r.answer);
    expect(outcomes(other)).not.toEqual(outcomes(carried));
  }, 60_000);
});
