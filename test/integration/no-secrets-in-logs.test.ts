/**
 * Secrets never reach a log line, a response body or the ledger: not the database password (part of
 * DATABASE_URL, a secret setting), not a secret job setting, not the caller's bearer token, not
 * when a job's own error message quotes them.
 */
import { defineConfig, text } from '../../functions/core/config';
import { DEFAULT_BACKOFF, defineJob } from '../../functions/core/job-spec';
import { jobDefinitions } from '../../functions/jobs';
import { createHarness } from '../support/harness';
import type { Harness } from '../support/harness';

const SMTP_PASSWORD = 'smtp-S3cret-value-4711';

const leakyConfig = defineConfig('leaky-job', {
  smtpPassword: text('LEAKY_SMTP_PASSWORD', undefined, 'A secret the job must never log.', { secret: true }),
});

const leakyJob = defineJob(
  {
    id: 'leaky-job',
    description: 'A job that tries hard to leak its secrets.',
    schedule: { cron: '*/5 * * * *', timeZone: 'Etc/UTC' },
    httpMethod: 'GET',
    timeoutMs: 20_000,
    attemptDeadlineMs: 25_000,
    retry: { ...DEFAULT_BACKOFF, retryCount: 1 },
    missedTicksBeforeAlert: 2,
    config: leakyConfig,
    roles: [],
    memoryMb: 256,
  },
  async (context, config) => {
    context.logger.info(`connecting with ${config.smtpPassword}`, {
      password: config.smtpPassword,
      note: config.smtpPassword,
    });
    if (context.tick.id.startsWith('2026-11-23T10:05')) {
      throw new Error(`login failed for password ${config.smtpPassword}`);
    }
    return { used: config.smtpPassword };
  },
);

describe('secrets', () => {
  let harness: Harness;
  let databasePassword: string;
  beforeAll(async () => {
    harness = await createHarness({
      definitions: [...jobDefinitions, leakyJob],
      env: { LEAKY_SMTP_PASSWORD: SMTP_PASSWORD },
    });
    databasePassword = decodeURIComponent(new URL(harness.db.url).password);
  });
  afterAll(async () => harness.close());

  it('appear in no log line, response body or ledger row', async () => {
    const token = await harness.token();
    const bodies: string[] = [];
    for (const [job, tick] of [
      ['cleanup-worker', '2026-11-23T10:00:00Z'],
      ['leaky-job', '2026-11-23T10:00:00Z'],
      ['leaky-job', '2026-11-23T10:05:00Z'],
    ]) {
      const res = await harness.invoke(job, { scheduleTime: tick, token });
      bodies.push(res.text);
    }
    expect(bodies[2]).toContain('login failed');

    const { rows } = await harness.db.pool.query(
      "SELECT coalesce(error, '') || coalesce(result::text, '') AS text FROM enx_jobs_attempts UNION ALL SELECT coalesce(last_error, '') || coalesce(result::text, '') FROM enx_jobs_ticks",
    );
    const everything = [
      ...harness.logs.lines,
      ...bodies,
      ...rows.map((row: { text: string }) => row.text),
    ].join('\n');
    expect(harness.logs.lines.length).toBeGreaterThan(5);
    for (const secret of [SMTP_PASSWORD, databasePassword, token]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).toContain('[redacted]');
  });
});
