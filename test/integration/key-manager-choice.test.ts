/**
 * A key manager that cannot work here (local keys on Cloud Run, or Cloud KMS before its adapter
 * lands) fails only the work that needs keys, with the reason; everything else runs.
 */
import { createHarness } from '../support/harness';
import type { Harness } from '../support/harness';

describe.each([
  ['local keys on Cloud Run', { K_SERVICE: 'cleanup-worker' }, /KEY_MANAGER=local .* refused on Cloud Run/],
  ['Cloud KMS before its adapter', { KEY_MANAGER: 'google-cloud-kms' }, /not part of this build yet/],
])('%s', (_name, env, reason) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness({ env });
  });
  afterAll(async () => harness.close());

  it('runs the jobs that never touch keys', async () => {
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: '2026-11-23T12:00:00Z' });
    expect(res.status).toBe(200);
  });

  it('fails only the cleanup step that destroys keys, naming the reason, when there are keys to destroy', async () => {
    await harness.db.pool.query(
      `INSERT INTO token_signing_keys (key_version_id, is_active, created_at, updated_at)
       VALUES ($1, false, now() - interval '10 days', now() - interval '10 days')`,
      [
        'projects/enx-test-project/locations/local/keyRings/tokens/cryptoKeys/token-signer/cryptoKeyVersions/1',
      ],
    );
    const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T12:05:00Z' });
    expect(res.status).toBe(500);
    expect(res.body.errors).toEqual([expect.stringMatching(/^TOKEN_SIGNING_KEY: /)]);
    expect(res.body.errors[0]).toMatch(reason);
    expect(Object.keys(res.body.result.purged)).toHaveLength(18);
  });
});
