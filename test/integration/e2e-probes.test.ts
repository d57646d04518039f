/**
 * The three probes through the real job handler (auth, ledger, outcome) against the loopback
 * upstreams on a real PostgreSQL: each flow passes and reports per-step latency; what a run leaves
 * in the database (a claimed code, a spent token, no API keys); the redirect probe without
 * ENX_REDIRECT_URL failing loudly; and no raw API key in any log line, answer or ledger row.
 */
import { readApiKeySecrets } from '../../functions/jobs/e2e/api-key';
import { E2E_REALM_NAME } from '../../functions/jobs/e2e/bootstrap';
import { createHarness, ledgerAttempts } from '../support/harness';
import type { Harness } from '../support/harness';
import { resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
let harness: Harness;
const sentApiKeys = new Set<string>();

beforeAll(async () => {
  world = await startE2eWorld();
  harness = await createHarness({ database: world.db, env: world.env });
  // Observe (not replace) the probes' requests, to learn the raw API keys they send.
  const realFetch = global.fetch;
  jest.spyOn(global, 'fetch').mockImplementation((input, init) => {
    const key = new Headers(init?.headers).get('x-api-key');
    if (key) sentApiKeys.add(key);
    return realFetch(input, init);
  });
});

afterAll(async () => {
  jest.restoreAllMocks();
  await harness?.close();
  await world?.close();
});

beforeEach(async () => resetE2eTables(world));

async function count(sql: string): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
  return rows[0].n;
}

describe('e2e probes against the loopback upstreams', () => {
  it('e2e-default issues, verifies, checks, certifies and publishes, reporting each step', async () => {
    const response = await harness.invoke('e2e-default', { scheduleTime: '2026-11-23T10:00:00Z' });
    expect(response.status).toBe(200);
    const result = response.body.result;
    expect(result).toMatchObject({ flow: 'default', iterations: 1, keysPublished: 14 });
    expect(Object.keys(result.stepsMs)).toEqual([
      'bootstrap',
      'issue',
      'verify',
      'code-status',
      'hmac',
      'certificate',
      'publish',
    ]);
    for (const ms of Object.values(result.stepsMs)) expect(ms).toEqual(expect.any(Number));
    // The code landed in verification_codes and was claimed; its token was spent on the certificate.
    expect(await count("verification_codes WHERE claimed AND test_type = 'confirmed'")).toBe(1);
    expect(await count('tokens WHERE used')).toBe(1);
    // The run's API keys are gone; the realm stays for the next run.
    expect(await count('authorized_apps')).toBe(0);
    expect(await count(`realms WHERE name = '${E2E_REALM_NAME}' AND is_e2e`)).toBe(1);
    const [attempt] = await ledgerAttempts(harness.db, 'e2e-default');
    expect(attempt.state).toBe('succeeded');
    expect(attempt.result).toMatchObject({
      stepsMs: expect.objectContaining({ publish: expect.any(Number) }),
    });
  });

  it('e2e-revise publishes likely, then revises to confirmed with the revision token and one more key', async () => {
    const response = await harness.invoke('e2e-revise', { scheduleTime: '2026-11-23T10:02:00Z' });
    expect(response.status).toBe(200);
    expect(response.body.result).toMatchObject({ flow: 'revise', iterations: 2, keysPublished: 15 });
    expect(Object.keys(response.body.result.stepsMs)).toEqual(
      expect.arrayContaining(['publish', 'revise.issue', 'revise.certificate', 'revise.publish']),
    );
    const { rows } = await world.db.pool.query<{ test_type: string }>(
      'SELECT test_type FROM verification_codes ORDER BY id',
    );
    expect(rows.map((row) => row.test_type)).toEqual(['likely', 'confirmed']);
  });

  it('e2e-redirect checks the well-known files and the three redirects', async () => {
    const response = await harness.invoke('e2e-redirect', { scheduleTime: '2026-11-23T10:00:00Z' });
    expect(response.status).toBe(200);
    expect(response.body.result).toMatchObject({ flow: 'redirect', checks: 5 });
    expect(Object.keys(response.body.result.stepsMs)).toEqual([
      'bootstrap',
      'assetlinks',
      'apple-app-site-association',
      'redirect-android',
      'redirect-ios',
      'redirect-other',
    ]);
    expect(await count('mobile_apps')).toBe(2);
  });

  it('a run against a stand-in told to fail is red, naming the step, in the answer, ledger and log', async () => {
    world.upstreams.faults.set('/api/certificate', { mode: '500' });
    const response = await harness.invoke('e2e-default', { scheduleTime: '2026-11-23T10:05:00Z' });
    expect(response.status).toBe(500);
    const [attempt] = await ledgerAttempts(harness.db, 'e2e-default').then((all) => all.slice(-1));
    expect(attempt.state).toBe('failed');
    expect(attempt.error).toMatch(
      /^certificate: POST http:\/\/127\.0\.0\.1:\d+\/api\/certificate answered HTTP 500 with error \(internal_server_error\) "internal error"; expected HTTP 200 with a verification certificate$/,
    );
    expect(attempt.result).toMatchObject({
      failedStep: 'certificate',
      stepsMs: { verify: expect.any(Number) },
    });
    const failedLine = harness.logs.entries().find((entry) => entry.event === 'failed');
    expect(String(failedLine?.message)).toContain('certificate: POST');
    // Even a failed run deletes its keys.
    expect(await count('authorized_apps')).toBe(0);
  });

  it('leaks no raw API key into any log line, answer or ledger row', async () => {
    const bodies: string[] = [];
    bodies.push(
      JSON.stringify((await harness.invoke('e2e-default', { scheduleTime: '2026-11-23T11:00:00Z' })).body),
    );
    world.upstreams.faults.set('/v1/publish', { mode: 'malformed-json' });
    bodies.push(
      JSON.stringify((await harness.invoke('e2e-revise', { scheduleTime: '2026-11-23T11:02:00Z' })).body),
    );
    expect(sentApiKeys.size).toBeGreaterThanOrEqual(4);
    const { rows } = await world.db.pool.query('SELECT error, result FROM enx_jobs_attempts');
    const everything = [...harness.logs.lines, ...bodies, JSON.stringify(rows)].join('\n');
    for (const key of sentApiKeys) expect(everything).not.toContain(key);
    const secrets = await readApiKeySecrets(world.db.pool, world.secretStore);
    for (const secret of [secrets.database, secrets.signature]) {
      expect(everything).not.toContain(secret.toString('base64'));
      expect(everything).not.toContain(secret.toString('base64url'));
    }
  });
});

describe('e2e-redirect without ENX_REDIRECT_URL', () => {
  it('fails every run naming the missing variable, instead of answering 200 without probing', async () => {
    const { ENX_REDIRECT_URL: _unset, ...env } = world.env;
    const unconfigured = await createHarness({ database: world.db, env });
    try {
      const response = await unconfigured.invoke('e2e-redirect', { scheduleTime: '2026-11-23T12:00:00Z' });
      expect(response.status).toBe(500);
      const attempts = await ledgerAttempts(unconfigured.db, 'e2e-redirect');
      expect(attempts[attempts.length - 1].error).toMatch(/ENX_REDIRECT_URL is required/);
    } finally {
      await unconfigured.close();
    }
  });
});
