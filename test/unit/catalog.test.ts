/**
 * The catalog is the single source of truth, so its settings must agree with each other and with
 * Google's limits before anything is derived from them.
 */
import { Cron } from 'croner';
import { catalog } from '../../functions/catalog';
import { jobDefinitions } from '../../functions/jobs';

const MINUTE_MS = 60_000;

describe.each(catalog.map((job) => [job.id, job] as const))('catalog entry %s', (_id, job) => {
  it('has a kebab-case id that is a valid function name', () => {
    expect(job.id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    expect(job.id.length).toBeLessThanOrEqual(63);
  });

  it('has a cron expression and time zone Cloud Scheduler accepts', () => {
    expect(job.schedule.cron.trim().split(/\s+/)).toHaveLength(5);
    expect(
      () => new Cron(job.schedule.cron, { timezone: job.schedule.timeZone, paused: true }),
    ).not.toThrow();
    expect(() => new Intl.DateTimeFormat('en', { timeZone: job.schedule.timeZone })).not.toThrow();
  });

  it('answers before the scheduler gives up, within Cloud Scheduler limits', () => {
    // The runtime needs time after the job's timeout to record the outcome and answer.
    expect(job.timeoutMs).toBeLessThan(job.attemptDeadlineMs);
    expect(job.attemptDeadlineMs).toBeGreaterThanOrEqual(15_000);
    expect(job.attemptDeadlineMs).toBeLessThanOrEqual(30 * MINUTE_MS);
  });

  it('has a retry policy Cloud Scheduler accepts', () => {
    expect(job.retry.retryCount).toBeGreaterThanOrEqual(0);
    expect(job.retry.retryCount).toBeLessThanOrEqual(5);
    expect(job.retry.minBackoffMs).toBeLessThanOrEqual(job.retry.maxBackoffMs);
  });

  it('tolerates at least one missed tick before alerting', () => {
    expect(job.missedTicksBeforeAlert).toBeGreaterThanOrEqual(1);
  });

  it('says whether a later tick covers a skipped one, and a must-run tick can be retried', () => {
    const spec: { skippedTick?: string } = job;
    expect(['covered-by-next', 'must-run']).toContain(spec.skippedTick);
    // A deferred tick is only retried if the scheduler retries at all.
    if (spec.skippedTick === 'must-run') expect(job.retry.retryCount).toBeGreaterThan(0);
  });
});

describe('ticks that must run', () => {
  it('are the emailers: their mail belongs to the tick', () => {
    const mustRun = catalog.filter((job) => (job as { skippedTick?: string }).skippedTick === 'must-run');
    expect(mustRun.map((job) => job.id).sort()).toEqual(['emailer-anomalies', 'emailer-sms-errors']);
  });
});

describe('catalog as a whole', () => {
  it('has unique job ids', () => {
    const ids = catalog.map((job) => job.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('joins every catalog entry to its logic, and nothing else', () => {
    expect(jobDefinitions.map((definition) => definition.spec.id).sort()).toEqual(
      catalog.map((job) => job.id).sort(),
    );
  });
});
