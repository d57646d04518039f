import { e2eDefault, e2eRedirect, e2eRevise, e2eUserReport } from '../../../functions/catalog';
import { jobTiming, timingProblems } from '../../../functions/alerts/windows';
import { STALE_KEY_AGE_MS } from '../../../functions/jobs/e2e/bootstrap';

describe('the e2e probes in the catalog', () => {
  const probes = [e2eDefault, e2eRevise, e2eRedirect, e2eUserReport];

  it('keep the spec cadences and retries and fit a tick and its retries before the next tick', () => {
    expect(probes.map((probe) => [probe.id, probe.schedule.cron, probe.retry.retryCount])).toEqual([
      ['e2e-default', '*/5 * * * *', 3],
      ['e2e-revise', '2-59/5 * * * *', 3],
      ['e2e-redirect', '*/5 * * * *', 3],
      ['e2e-user-report', '3-59/5 * * * *', 3],
    ]);
    for (const probe of probes) {
      expect(timingProblems(probe)).toEqual([]);
      expect(jobTiming(probe).retryHorizonMs).toBeLessThan(5 * 60_000);
    }
  });

  it('sweep only keys older than any probe attempt can run, so a run in flight keeps its keys', () => {
    for (const probe of probes) expect(STALE_KEY_AGE_MS).toBeGreaterThan(jobTiming(probe).retryHorizonMs);
  });
});
