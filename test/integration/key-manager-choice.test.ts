/**
 * Which key manager, secret store and database export a runtime builds from its settings. A choice
 * that cannot work here (local keys, secrets or dumps on Cloud Run) fails only the work that needs
 * it, with the reason; everything else runs. KEY_MANAGER=google-cloud-kms reaches Cloud KMS (here the
 * loopback stand-in, through KMS_API_ENDPOINT) from a real job run.
 */
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { CloudSqlExport } from '../../functions/adapters/cloud-sql-export';
import { loadedAdapter } from '../../functions/adapters/deferred';
import { GoogleKmsKeyManager } from '../../functions/adapters/google-kms-key-manager';
import { GoogleSecretStore } from '../../functions/adapters/google-secret-store';
import { LocalDatabaseExport } from '../../functions/adapters/local-database-export';
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import { Runtime } from '../../functions/core/runtime';
import { localWiring } from '../../local/wiring';
import { LOCAL_ADAPTERS } from '../../local/local-env';
import { startFakeKms } from '../support/fake-google/kms-service';
import type { FakeKms } from '../support/fake-google/kms-service';
import { TEST_TOKEN_SIGNING_KEY, createHarness } from '../support/harness';
import { CLEANUP_STEPS } from '../support/seed-cleanup';
import type { Harness } from '../support/harness';

const insertTokenKey = (harness: Harness, version: string) =>
  harness.db.pool.query(
    `INSERT INTO token_signing_keys (key_version_id, is_active, created_at, updated_at)
     VALUES ($1, false, now() - interval '10 days', now() - interval '10 days')`,
    [version],
  );

describe('local keys on Cloud Run', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await createHarness({ env: { K_SERVICE: 'cleanup-worker' } });
  });
  afterAll(async () => harness.close());

  it('runs the jobs that never touch keys', async () => {
    const res = await harness.invoke('fleet-watchdog', { scheduleTime: '2026-11-23T12:00:00Z' });
    expect(res.status).toBe(200);
  });

  it('fails only the cleanup step that destroys keys, naming the reason, when there are keys to destroy', async () => {
    await insertTokenKey(harness, `${TEST_TOKEN_SIGNING_KEY}/cryptoKeyVersions/1`);
    const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T12:05:00Z' });
    expect(res.status).toBe(500);
    expect(res.body.errors).toEqual([expect.stringMatching(/^TOKEN_SIGNING_KEY: /)]);
    expect(res.body.errors[0]).toMatch(
      /KEY_MANAGER=local .* refused on Cloud Run; set KEY_MANAGER=google-cloud-kms/,
    );
    // Every step but the failed TOKEN_SIGNING_KEY one reports its count.
    expect(Object.keys(res.body.result.purged)).toHaveLength(CLEANUP_STEPS.length - 1);
  });
});

describe('Cloud KMS through KMS_API_ENDPOINT', () => {
  let fake: FakeKms;
  let harness: Harness;
  beforeAll(async () => {
    fake = await startFakeKms({
      keyRings: [TEST_TOKEN_SIGNING_KEY.replace(/\/cryptoKeys\/.*$/, '')],
      pendingReads: 0,
    });
    harness = await createHarness({
      env: { KEY_MANAGER: 'google-cloud-kms', KMS_API_ENDPOINT: `127.0.0.1:${fake.port}` },
    });
  });
  afterAll(async () => {
    await harness.close();
    await fake.close();
  });

  it('builds the Cloud KMS key manager, loaded on first use', async () => {
    expect(await loadedAdapter(harness.runtime.adapters().keyManager)).toBeInstanceOf(GoogleKmsKeyManager);
  });

  it('cleanup destroys an expired token key version in Cloud KMS', async () => {
    const client = new KeyManagementServiceClient(fake.clientOptions());
    const [ring, keyId] = [TEST_TOKEN_SIGNING_KEY.replace(/\/cryptoKeys\/.*$/, ''), 'token-signer'];
    await client.createCryptoKey({
      parent: ring,
      cryptoKeyId: keyId,
      cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } },
      skipInitialVersionCreation: true,
    });
    const [version] = await client.createCryptoKeyVersion({ parent: TEST_TOKEN_SIGNING_KEY });
    await client.close();
    await insertTokenKey(harness, String(version.name));

    const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T12:05:00Z' });
    expect(res.status).toBe(200);
    expect(fake.calls.filter((c) => c.method === 'destroyCryptoKeyVersion')).toEqual([
      { method: 'destroyCryptoKeyVersion', request: { name: version.name } },
    ]);
    expect(fake.versions.get(String(version.name))?.state).toBe('DESTROY_SCHEDULED');
  });
});

describe('secret store and database export choices', () => {
  const base = {
    AUTH_MODE: 'none',
    DATABASE_URL: 'postgres://u:p@127.0.0.1:9/db',
    GOOGLE_CLOUD_PROJECT: 'p',
  };
  const build = (env: Record<string, string>) =>
    new Runtime({ ...base, ...LOCAL_ADAPTERS, ...env }, localWiring, {
      writeLine: () => undefined,
    }).adapters();

  it('local mode gets the local secret store and the pg_dump export', () => {
    const adapters = build({});
    expect(adapters.secretStore).toBeInstanceOf(LocalSecretStore);
    expect(adapters.databaseExport).toBeInstanceOf(LocalDatabaseExport);
  });

  it('the Google choices build the Google adapters', async () => {
    const adapters = build({
      SECRET_MANAGER: 'google-secret-manager',
      SECRET_MANAGER_API_ENDPOINT: '127.0.0.1:9',
      DATABASE_EXPORT: 'cloud-sql',
      SQLADMIN_API_ENDPOINT: 'http://127.0.0.1:9',
      BACKUP_BUCKET: 'p-backups',
      BACKUP_DATABASE_INSTANCE_URL: 'https://sqladmin.googleapis.com/sql/v1beta4/projects/p/instances/i',
      BACKUP_DATABASE_NAME: 'en-verification',
    });
    expect(await loadedAdapter(adapters.secretStore)).toBeInstanceOf(GoogleSecretStore);
    expect(await loadedAdapter(adapters.databaseExport)).toBeInstanceOf(CloudSqlExport);
  });

  it('refuses the local secret store and the local export on Cloud Run, only when they are used', async () => {
    const adapters = build({
      K_SERVICE: 'rotation-worker',
      AUTH_MODE: 'oidc',
      OIDC_AUDIENCE: 'a',
      OIDC_INVOKER_EMAILS: 'e',
    });
    await expect(adapters.secretStore.accessSecretVersion('projects/p/secrets/s/versions/1')).rejects.toThrow(
      'SECRET_MANAGER=local keeps secret values in the database and is refused on Cloud Run; set SECRET_MANAGER=google-secret-manager',
    );
    await expect(adapters.databaseExport.exportDatabase({ objectName: 'x.sql' })).rejects.toThrow(
      'DATABASE_EXPORT=local-pg-dump writes to the local disk and is refused on Cloud Run; set DATABASE_EXPORT=cloud-sql',
    );
  });

  it('a Cloud SQL export with missing settings fails the export, listing them', async () => {
    const adapters = build({ DATABASE_EXPORT: 'cloud-sql', BACKUP_DATABASE_INSTANCE_URL: 'p:region:i' });
    const failure = adapters.databaseExport.exportDatabase({ objectName: 'x.sql' });
    await expect(failure).rejects.toThrow(/BACKUP_BUCKET is required/);
    await expect(failure).rejects.toThrow(
      /BACKUP_DATABASE_INSTANCE_URL: "p:region:i" is not a Cloud SQL instance/,
    );
    await expect(failure).rejects.toThrow(/BACKUP_DATABASE_NAME is required/);
  });

  it('refuses an endpoint override that is not loopback', async () => {
    const adapters = build({
      DATABASE_EXPORT: 'cloud-sql',
      SQLADMIN_API_ENDPOINT: 'https://sqladmin.example.com',
      BACKUP_BUCKET: 'b-b',
      BACKUP_DATABASE_INSTANCE_URL: 'projects/p/instances/i',
      BACKUP_DATABASE_NAME: 'd',
    });
    await expect(adapters.databaseExport.exportDatabase({ objectName: 'x' })).rejects.toThrow(
      /must be a loopback URL/,
    );
  });
});
