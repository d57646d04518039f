/**
 * The alert-quality targets of issue 12, over the named scenarios of `npm run simulate`: a
 * sustained fault opens at most one incident per alert and the paging alerts fire within the
 * job's window plus one tick; transient failures that retries absorb open nothing over a week; a
 * fleet that never worked, or whose every request is refused, pages within 10 minutes naming the
 * cause. Bounds are in virtual time, never in the machine's.
 */
import { jobTiming } from '../../functions/alerts/windows';
import { catalog } from '../../functions/catalog';
import { simulate } from '../../simulator/engine';
import type { SimulationResult } from '../../simulator/engine';
import { alertQuality } from '../../simulator/quality';
import { PROBE_JOB, findScenario, scenarioOf } from '../../simulator/scenarios';
import { createTestDatabase } from '../support/database';

const MIN = 60_000;
const HOUR = 60 * MIN;
const S = Date.parse('2026-03-27T00:00:00Z');

async function runNamed(name: string, endMs?: number): Promise<SimulationResult> {
  const named = findScenario(name);
  if (!named) throw new Error(`no scenario ${name}`);
  const database = await createTestDatabase(4);
  try {
    return await simulate({ db: database.pool, scenario: scenarioOf(named, S, 42, endMs), jobs: named.jobs });
  } finally {
    await database.drop();
  }
}

describe('quality: one job failing every attempt for 4 hours', () => {
  let result: SimulationResult;
  beforeAll(async () => {
    result = await runNamed('one-job-failing', S + 15 * HOUR);
  }, 300_000);

  it('opens at most one incident per alert', () => {
    for (const row of alertQuality(result).alerts)
      expect([row.alertId, row.incidents]).toEqual([row.alertId, Math.min(row.incidents, 1)]);
  });

  it('pages with ForwardProgressFailed and FailedJobs within the window plus one tick', () => {
    const spec = catalog.find((job) => job.id === PROBE_JOB);
    if (!spec) throw new Error(`${PROBE_JOB} is not in the catalog`);
    const timing = jobTiming(spec);
    const faultStart = S + 10 * HOUR;
    for (const alertId of ['ForwardProgressFailed', 'FailedJobs']) {
      const fired = result.transitions.filter(
        (t) => t.kind === 'FIRED' && t.alertId === alertId && t.subject === PROBE_JOB,
      );
      expect(fired).toHaveLength(1);
      expect(fired[0].atMs).toBeGreaterThanOrEqual(faultStart);
      expect(fired[0].atMs).toBeLessThanOrEqual(faultStart + timing.windowMs + timing.maxGapMs);
    }
    expect(result.tracker.stillFiring()).toEqual([]);
  });
});

describe('quality: 7 days of a healthy fleet with transient failures that retries absorb', () => {
  let result: SimulationResult;
  beforeAll(async () => {
    result = await runNamed('healthy-transient');
  }, 900_000);

  it('had transient failures, and every tick succeeded in the end', () => {
    expect(result.requests.filter((r) => !r.ok).length).toBeGreaterThan(100);
    expect(result.requests.filter((r) => r.exhausted)).toEqual([]);
  });

  it('opens no incident of any alert', () => {
    expect(result.transitions).toEqual([]);
  });
});

describe.each([
  ['never-deployed', /status NOT_FOUND/],
  ['auth-broken', /status UNAUTHENTICATED/],
])('quality: %s', (name, cause) => {
  let result: SimulationResult;
  beforeAll(async () => {
    result = await runNamed(name, S + 2 * HOUR);
  }, 300_000);

  it(`pages within 10 minutes, naming the cause (${cause.source})`, () => {
    const [detection] = alertQuality(result).detections;
    expect(detection.firstPage).toBeDefined();
    expect((detection.firstPage?.atMs ?? Infinity) - detection.startMs).toBeLessThanOrEqual(10 * MIN);
    expect(detection.firstPage?.detail).toMatch(cause);
  });
});
