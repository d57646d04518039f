/**
 * e2e-user-report through the real job handler against the loopback upstreams: a user report for
 * the test phone through the admin API, the code flow, and the phone's report cleared before (what
 * a dead run left, the original's step 0) and after the flow (the clean-up), as ENX's
 * DeleteUserReport clears it: found under every phone secret, its code expired, no audit entry.
 */
import { readApiKeySecrets } from '../../functions/jobs/e2e/api-key';
import { createRunKeys, ensureE2eRealm } from '../../functions/jobs/e2e/bootstrap';
import { e2eFlowConfig } from '../../functions/jobs/e2e/config';
import { issueCode, TEST_PHONE } from '../../functions/jobs/e2e/flow';
import { Probe } from '../../functions/jobs/e2e/http';
import { METRICS } from '../../functions/alerts/metrics';
import { enxHmac } from '../../functions/db/enx-secrets';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
let harness: Harness;

beforeAll(async () => {
  world = await startE2eWorld();
  harness = await createHarness({ database: world.db, env: world.env });
});
afterAll(async () => {
  await harness?.close();
  await world?.close();
});
beforeEach(async () => {
  await resetE2eTables(world);
  await world.db.pool.query("DELETE FROM secrets WHERE type = 'phone_number_database_hmac' AND NOT active");
});

/** The probe's per-step latency metric as the run wrote it (local gauges). */
const latency = (step: string) =>
  harness.gauges.get(METRICS.e2eStepLatency.type, 'e2e-user-report', { step });

async function count(sql: string): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
  return rows[0].n;
}

/** A report of the test phone, hashed under a phone secret, as a run cut off after its issue leaves it. */
async function leftoverReport(secret: Buffer): Promise<void> {
  await world.db.pool.query(
    `INSERT INTO user_reports (phone_hash, nonce, nonce_required, code_claimed, created_at, updated_at)
     VALUES ($1, '', false, false, now(), now())`,
    [enxHmac(secret, TEST_PHONE)],
  );
}

async function phoneSecret(): Promise<Buffer> {
  const { rows } = await world.db.pool.query<{ reference: string }>(
    "SELECT reference FROM secrets WHERE type = 'phone_number_database_hmac' AND active",
  );
  return world.secretStore.accessSecretVersion(rows[0].reference);
}

describe('e2e-user-report against the loopback upstreams', () => {
  it('reports the test phone, runs the code flow as user-report and clears the report after', async () => {
    const response = await harness.invoke('e2e-user-report', { scheduleTime: '2026-11-23T10:03:00Z' });
    expect(response.status).toBe(200);
    expect(response.body.result).toMatchObject({
      flow: 'user-report',
      iterations: 1,
      keysPublished: 14,
      userReportsRemoved: { before: 0, after: 1 },
    });
    expect(Object.keys(response.body.result.stepsMs)).toEqual([
      'bootstrap',
      'issue',
      'verify',
      'code-status',
      'hmac',
      'certificate',
      'publish',
      'cleanup',
    ]);
    // The code was a user report's, claimed; the report is gone, its code expired, nothing audited.
    expect(await count("verification_codes WHERE claimed AND test_type = 'user-report'")).toBe(1);
    expect(await count('verification_codes WHERE expires_at > now() OR long_expires_at > now()')).toBe(0);
    expect(await count('user_reports')).toBe(0);
    expect(await count("audit_entries WHERE action LIKE '%user report%'")).toBe(0);
    const [attempt] = await ledgerAttempts(harness.db, 'e2e-user-report');
    expect(attempt.state).toBe('succeeded');
    // Each step's latency is also the probe's per-step metric.
    for (const [step, ms] of Object.entries(response.body.result.stepsMs)) {
      expect([step, latency(step)]).toEqual([step, ms]);
    }
  });

  it('writes the latencies up to the step that failed, and none after it', async () => {
    world.upstreams.faults.set('/api/certificate', { mode: '500', times: 1 });
    const write = jest.spyOn(harness.gauges, 'write');
    try {
      const response = await harness.invoke('e2e-user-report', { scheduleTime: '2026-11-23T10:23:00Z' });
      expect(response.status).toBe(500);
      const steps = write.mock.calls.flatMap(([points]) =>
        points.filter((point) => point.metric === METRICS.e2eStepLatency).map((point) => point.labels?.step),
      );
      expect(steps).toEqual(['bootstrap', 'issue', 'verify', 'code-status', 'hmac', 'certificate']);
      expect(latency('verify')).toBe(response.body.result.stepsMs.verify);
    } finally {
      write.mockRestore();
    }
  });

  it('clears a report a dead run left, found under an older phone secret too, so the issue gets a code', async () => {
    const older = Buffer.from('an-older-phone-secret-0123456789');
    const reference = await world.secretStore.addSecretVersion(
      'projects/enx-test-project/secrets',
      'old-phone',
      older,
    );
    await world.db.pool.query(
      `INSERT INTO secrets (type, reference, active, created_at, updated_at)
       VALUES ('phone_number_database_hmac', $1, false, now() - interval '30 days', now())`,
      [reference],
    );
    await leftoverReport(older);
    const response = await harness.invoke('e2e-user-report', { scheduleTime: '2026-11-23T10:08:00Z' });
    expect(response.status).toBe(200);
    expect(response.body.result.userReportsRemoved).toEqual({ before: 1, after: 1 });
  });

  it('would fail at the issue step without the clearing: ENX answers a reported phone with no code', async () => {
    await leftoverReport(await phoneSecret());
    const realm = await ensureE2eRealm(world.db.pool, new Date());
    const secrets = await readApiKeySecrets(world.db.pool, world.secretStore);
    const keys = await createRunKeys(world.db.pool, realm.id, secrets, new Date());
    const probe = new Probe({ timeoutMs: 2000, signal: new AbortController().signal, userAgent: 'test' });
    const targets = e2eFlowConfig.parse(world.env);
    await expect(issueCode(probe, 'issue', targets, keys, 'user-report', new Date())).rejects.toThrow(
      /code is missing/,
    );
  });

  it('fails at bootstrap naming the phone secret when the database has none', async () => {
    await world.db.pool.query(
      "UPDATE secrets SET deleted_at = now() WHERE type = 'phone_number_database_hmac'",
    );
    try {
      const response = await harness.invoke('e2e-user-report', { scheduleTime: '2026-11-23T10:18:00Z' });
      expect(response.status).toBe(500);
      expect(JSON.stringify(response.body)).toMatch(/bootstrap.*no phone_number_database_hmac secret/);
    } finally {
      await world.db.pool.query(
        "UPDATE secrets SET deleted_at = NULL WHERE type = 'phone_number_database_hmac'",
      );
    }
  });
});
