/**
 * The simulator's quiet cases: a healthy fleet over a simulated week, and a local-time daily job
 * across a daylight-saving change. Neither may page anyone.
 */
import { jobTiming } from '../../functions/alerts/windows';
import { cleanupWorker } from '../../functions/catalog';
import { noConfig } from '../../functions/core/config';
import { DEFAULT_BACKOFF } from '../../functions/core/job-spec';
import type { JobSpec } from '../../functions/core/job-spec';
import { simulate } from '../../simulator/engine';
import type { SimulationResult } from '../../simulator/engine';
import { SIMULATED_JOBS } from '../../simulator/scenario';
import type { Scenario } from '../../simulator/scenario';
import { createTestDatabase } from '../support/database';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function run(scenario: Scenario, jobs?: readonly JobSpec[]): Promise<SimulationResult> {
  const database = await createTestDatabase(4);
  try {
    return await simulate({ db: database.pool, scenario, jobs });
  } finally {
    await database.drop();
  }
}

describe('simulator: a healthy fleet for 7 simulated days', () => {
  const start = Date.parse('2026-03-27T00:00:00Z');
  let result: SimulationResult;
  beforeAll(async () => {
    // A week of 13 jobs' ticks (about 13,600); a limit, not a measurement: the machine is shared.
    result = await run({ startMs: start, endMs: start + 7 * DAY, seed: 42, faults: [] });
    // A guard, not a measurement: a simulated week of 11,500 ticks takes 4-5 minutes on a shared
    // 2-core machine.
  }, 900_000);

  it('runs every catalog job but the watchdog on every tick, each on the first attempt', () => {
    expect(result.jobs.map((job) => job.id)).toEqual(SIMULATED_JOBS.map((job) => job.id));
    expect(result.jobs.map((job) => job.id)).not.toContain('fleet-watchdog');
    // Listed rather than counted, so a failure shows which job, tick and answer went wrong.
    const unusual = result.requests.filter(
      (request) => !request.ok || request.answer !== 'succeeded' || request.retry > 0 || request.duplicate,
    );
    expect(unusual).toEqual([]);
    expect(result.requests).toHaveLength(result.stats.ticks);
  });

  it('fires nothing', () => {
    expect(result.transitions).toEqual([]);
  });

  it('stays far from its forward-progress windows', () => {
    for (const job of result.jobs) {
      expect(result.tracker.peak('ForwardProgressFailed', job.id)).toBeLessThan(0.5);
    }
  });
});

/**
 * 02:30 in New York does not exist on 2026-03-08 (clocks jump from 02:00 to 03:00), so the job has
 * no tick that day: 47 hours between two successes. missedTicksBeforeAlert is 1 here, below what
 * the catalog checks allow, to make the window as tight as the schedule permits (the longest gap
 * plus the retry horizon): a window reckoned as 24 hours, or ticks replayed in the wrong zone,
 * would page on the DST day.
 */
const dstReport: JobSpec = {
  id: 'dst-report',
  description: 'simulator test job: daily at 02:30 New York time',
  schedule: { cron: '30 2 * * *', timeZone: 'America/New_York' },
  httpMethod: 'POST',
  timeoutMs: 5 * 60_000,
  attemptDeadlineMs: 10 * 60_000,
  retry: { ...DEFAULT_BACKOFF, retryCount: 2 },
  missedTicksBeforeAlert: 1,
  config: noConfig,
  roles: [],
  memoryMb: 256,
};

describe('simulator: a daily local-time job across the spring-forward day', () => {
  const start = Date.parse('2026-03-07T00:00:00Z');
  let result: SimulationResult;
  beforeAll(async () => {
    // cleanup-worker keeps the fleet busy, as in production; alone, a daily job leaves the fleet
    // idle for a day, which JobProcessingStalled would rightly report.
    result = await run({ startMs: start, endMs: start + 3 * DAY, seed: 42, faults: [] }, [
      cleanupWorker,
      dstReport,
    ]);
  }, 180_000);

  it('replays the schedule in local time: no tick on the day 02:30 does not exist', () => {
    const ticks = result.requests
      .filter((request) => request.jobId === dstReport.id)
      .map((request) => new Date(request.tickMs).toISOString());
    expect(ticks).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it('fires no alert, although the job came within a few percent of its window', () => {
    expect(result.transitions).toEqual([]);
    const peak = result.tracker.peak('ForwardProgressFailed', dstReport.id) ?? 0;
    expect(peak).toBeLessThan(1);
    // 47 h without a success against a window of 47 h plus the retry horizon: a close call.
    expect(peak).toBeGreaterThan((47 * HOUR) / jobTiming(dstReport).windowMs - 0.001);
  });
});
