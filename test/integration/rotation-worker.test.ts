/**
 * rotation-worker's rules (enx-jobs.md §7.1, §7.3) at the edges of every age threshold, on a real
 * PostgreSQL with the local KMS and secret store, plus its faults and its run through the HTTP
 * runtime. Ages are short (test/support/rotation-fixtures.ts) so a manual clock crosses them.
 */
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import type { KeyManager } from '../../functions/ports/key-manager';
import { ManualClock } from '../support/manual-clock';
import { StepsFailedError } from '../../functions/core/errors';
import { rotationConfig } from '../../functions/jobs/rotation-worker/config';
import { runRotation } from '../../functions/jobs/rotation-worker/run';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { TEST_TOKEN_SIGNING_KEY, createHarness, ledgerAttempts } from '../support/harness';
import {
  HOUR_MS,
  ROTATION_ENV,
  SECRETS_PARENT,
  T0,
  addSecret,
  addTokenKey,
  before,
  resetRotationTables,
  rotationContext,
  testRotationConfig,
} from '../support/rotation-fixtures';

let db: TestDatabase;
const config = testRotationConfig();
const MS = 1;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await resetRotationTables(db.pool);
});

function run(clock: ManualClock, keyManager?: KeyManager) {
  const { context, logs } = rotationContext(db.pool, clock, {
    keyManager: keyManager ?? new LocalKeyManager(db.pool, clock),
    secretStore: new LocalSecretStore(db.pool, clock),
  });
  return { result: runRotation(context, config) as Promise<Record<string, unknown>>, logs };
}

async function tokenKeys() {
  const { rows } = await db.pool.query<{ key_version_id: string; is_active: boolean; updated_at: Date }>(
    'SELECT key_version_id, is_active, updated_at FROM token_signing_keys ORDER BY id',
  );
  return rows;
}

async function secrets(type: string) {
  const { rows } = await db.pool.query<{ reference: string; active: boolean; deleted_at: Date | null }>(
    'SELECT reference, active, deleted_at FROM secrets WHERE type = $1 ORDER BY id',
    [type],
  );
  return rows;
}

describe('rotation-worker configuration', () => {
  it('rejects a key version as TOKEN_SIGNING_KEY and a bad SECRETS_PARENT, naming both', () => {
    expect(() =>
      rotationConfig.parse({
        ...ROTATION_ENV,
        TOKEN_SIGNING_KEY: `${TEST_TOKEN_SIGNING_KEY}/cryptoKeyVersions/1`,
        SECRETS_PARENT: 'secrets',
      }),
    ).toThrow(
      /TOKEN_SIGNING_KEY: .*names a key version[\s\S]*SECRETS_PARENT: "secrets" is not a secrets parent/,
    );
  });

  it('refuses a max age that would retire a secret before its successor is active', () => {
    expect(() => rotationConfig.parse({ ...ROTATION_ENV, COOKIE_KEY_MAX_AGE: '4h30m' })).toThrow(
      /COOKIE_KEY_MAX_AGE \(4h30m\) must be at least COOKIE_KEY_MIN_AGE \(4h\) plus SECRET_ACTIVATION_TTL \(1h\)/,
    );
  });

  it('has the original defaults', () => {
    const defaults = rotationConfig.parse({ TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY, SECRETS_PARENT });
    expect(defaults).toMatchObject({
      tokenSigningKeyMaxAgeMs: 720 * HOUR_MS,
      secretActivationTtlMs: 0.5 * HOUR_MS,
      secretDestroyTtlMs: 24 * HOUR_MS,
      cookieKeyMinAgeMs: 720 * HOUR_MS,
      cookieKeyMaxAgeMs: 1488 * HOUR_MS,
      verificationCodeHmacMinAgeMs: 24 * HOUR_MS,
      verificationCodeHmacMaxAgeMs: 72 * HOUR_MS,
    });
  });
});

describe('token signing key', () => {
  it('creates and activates the first key, then rotates exactly at TOKEN_SIGNING_KEY_MAX_AGE', async () => {
    const clock = new ManualClock(T0);
    const first = await run(clock).result;
    expect(first.tokenSigningKey).toMatchObject({ created: 1, activated: 1 });
    const [key] = await tokenKeys();
    expect(key.is_active).toBe(true);

    clock.advance(10 * HOUR_MS - MS);
    expect((await run(clock).result).tokenSigningKey).toMatchObject({ created: 0, activated: 0 });
    clock.advance(MS);
    expect((await run(clock).result).tokenSigningKey).toMatchObject({ created: 1, activated: 1 });
    const keys = await tokenKeys();
    expect(keys.map((row) => row.is_active)).toEqual([false, true]);
    // The old key's updated_at is when it was rotated out: cleanup-worker counts from it.
    expect(keys[0].updated_at).toEqual(clock.now());
    const { rows } = await db.pool.query('SELECT action FROM audit_entries WHERE actor_id = $1 ORDER BY id', [
      'rotation:1',
    ]);
    expect(rows.map((row) => row.action)).toEqual(
      expect.arrayContaining([
        'created token signing key',
        'activated token signing key version',
        'deactivated token signing key version',
      ]),
    );
  });

  it('rotates at once when the active key can no longer sign', async () => {
    const clock = new ManualClock(T0);
    const version = await addTokenKey(db.pool, { createdAt: before(T0, HOUR_MS), active: true });
    await new LocalKeyManager(db.pool, clock).destroyKeyVersion(version);
    const { result, logs } = run(clock);
    expect((await result).tokenSigningKey).toMatchObject({ created: 1, activated: 1 });
    expect(logs.lines.join('\n')).toContain(`the active key ${version} is DESTROYED`);
  });

  it('adopts a version KMS has but the database lost when a rotation is due, and records others as rotated out', async () => {
    const clock = new ManualClock(T0);
    const keys = new LocalKeyManager(db.pool, clock);
    const older = await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY);
    clock.advance(1000);
    const newer = await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY);
    const result = await run(clock).result;
    expect(result.tokenSigningKey).toMatchObject({
      created: 0,
      adopted: 1,
      orphansRecorded: 1,
      activeVersion: newer,
    });
    const rows = await tokenKeys();
    expect(rows.map((row) => [row.key_version_id, row.is_active])).toEqual(
      expect.arrayContaining([
        [older, false],
        [newer, true],
      ]),
    );
    expect(await keys.listKeyVersions(TEST_TOKEN_SIGNING_KEY)).toHaveLength(2);
  });

  it('fails the step naming the key and what to check when KMS refuses, and still rotates secrets', async () => {
    const clock = new ManualClock(T0);
    const inner = new LocalKeyManager(db.pool, clock);
    const quota: KeyManager = Object.assign(Object.create(inner) as KeyManager, {
      createKeyVersion: async () => {
        throw new Error('8 RESOURCE_EXHAUSTED: Quota exceeded for key versions');
      },
    });
    const error = await run(clock, quota).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StepsFailedError);
    const failure = error as StepsFailedError;
    expect(failure.failures.map((item) => item.step)).toEqual(['token-signing-key']);
    expect(failure.message).toMatch(
      /could not create a version of TOKEN_SIGNING_KEY .*KMS quota.*RESOURCE_EXHAUSTED/,
    );
    expect(failure.partial).toMatchObject({ secrets: { created: 5 }, secretTypesRotated: 5 });
    expect(await tokenKeys()).toEqual([]);
  });
});

describe('secrets', () => {
  it('creates the first secret of every type active, then a successor only once the newest is older than its min age', async () => {
    const clock = new ManualClock(T0);
    expect((await run(clock).result).secrets).toMatchObject({ created: 5, activated: 0 });
    for (const type of ['cookie_keys', 'api_key_database_hmac']) {
      expect((await secrets(type)).map((row) => row.active)).toEqual([true]);
    }
    // verification codes: min age 3h, strictly older.
    clock.advance(3 * HOUR_MS);
    expect((await run(clock).result).secrets).toMatchObject({ created: 0 });
    clock.advance(MS);
    expect((await run(clock).result).secrets).toMatchObject({ created: 1 });
    const [, successor] = await secrets('verification_code_database_hmac');
    expect(successor.active).toBe(false);
    // It is pending: no second successor while it waits (the newest counts, active or not).
    clock.advance(3 * HOUR_MS - MS);
    await run(clock).result;
    expect(await secrets('verification_code_database_hmac')).toHaveLength(2);
  });

  it('activates a pending secret exactly SECRET_ACTIVATION_TTL after creation', async () => {
    const clock = new ManualClock(T0);
    await addSecret(db.pool, 'verification_code_database_hmac', 'db-verification-code-hmac', {
      createdAt: before(T0, 2 * HOUR_MS),
      active: true,
    });
    await addSecret(db.pool, 'verification_code_database_hmac', 'db-verification-code-hmac', {
      createdAt: before(T0, HOUR_MS - MS),
      active: false,
    });
    expect((await run(clock).result).secrets).toMatchObject({ activated: 0 });
    clock.advance(MS);
    expect((await run(clock).result).secrets).toMatchObject({ activated: 1 });
    expect((await secrets('verification_code_database_hmac')).map((row) => row.active)).toEqual([true, true]);
  });

  it('retires an expired secret only once a newer one is active, and keeps it accepted for its grace', async () => {
    const clock = new ManualClock(T0);
    const type = 'verification_code_database_hmac';
    // The only secret, past its 6h max age: kept active (nothing else to use); a successor is made.
    await addSecret(db.pool, type, 'db-verification-code-hmac', {
      createdAt: before(T0, 6 * HOUR_MS),
      active: true,
    });
    expect((await run(clock).result).secrets).toMatchObject({ retired: 0 });
    expect(await secrets(type)).toHaveLength(2);
    // The successor becomes active after 1h, and the old one is retired in the same run...
    clock.advance(HOUR_MS);
    expect((await run(clock).result).secrets).toMatchObject({
      activated: 1,
      retired: 1,
      markedForDeletion: 0,
    });
    expect((await secrets(type)).map((row) => [row.active, row.deleted_at])).toEqual([
      [false, null],
      [true, null],
    ]);
    // ...but only marked for deletion SECRET_ACTIVATION_TTL later (not in the same run: ENX's quirk).
    clock.advance(HOUR_MS - MS);
    expect((await run(clock).result).secrets).toMatchObject({ markedForDeletion: 0 });
    clock.advance(MS);
    expect((await run(clock).result).secrets).toMatchObject({ markedForDeletion: 1 });
    // Destroyed and purged strictly after SECRET_DESTROY_TTL (2h).
    const [old] = await secrets(type);
    clock.advance(2 * HOUR_MS);
    expect((await run(clock).result).secrets).toMatchObject({ purged: 0 });
    clock.advance(MS);
    expect((await run(clock).result).secrets).toMatchObject({ purged: 1 });
    expect((await secrets(type)).map((row) => row.reference)).not.toContain(old.reference);
    await expect(new LocalSecretStore(db.pool, clock).accessSecretVersion(old.reference)).rejects.toThrow(
      /DESTROYED/,
    );
  });

  it('never retires api-key HMAC keys by age', async () => {
    const clock = new ManualClock(T0);
    await addSecret(db.pool, 'api_key_database_hmac', 'db-apikey-db-hmac', {
      createdAt: before(T0, 1000 * HOUR_MS),
      active: true,
    });
    await addSecret(db.pool, 'api_key_database_hmac', 'db-apikey-db-hmac', {
      createdAt: before(T0, 2 * HOUR_MS),
      active: true,
    });
    await run(clock).result;
    expect((await secrets('api_key_database_hmac')).map((row) => row.active)).toEqual([true, true]);
  });

  it('records a Secret Manager version the database never saw as marked for deletion when no secret is due', async () => {
    const clock = new ManualClock(T0);
    await run(clock).result;
    const stray = await new LocalSecretStore(db.pool, clock).addSecretVersion(
      SECRETS_PARENT,
      'cookie-keys',
      Buffer.from('stray version'),
    );
    expect((await run(clock).result).secrets).toMatchObject({ orphansRecorded: 1, created: 0 });
    const row = (await secrets('cookie_keys')).find((candidate) => candidate.reference === stray);
    expect(row).toMatchObject({ active: false });
    expect(row?.deleted_at).toEqual(clock.now());
  });
});

describe('rotation-worker through the runtime', () => {
  it('records the result summary in the ledger', async () => {
    const clock = new ManualClock(T0);
    const harness = await createHarness({
      database: db,
      clock,
      env: { ...ROTATION_ENV },
      overrides: {
        adapters: (pool) => ({
          keyManager: new LocalKeyManager(pool, clock),
          secretStore: new LocalSecretStore(pool, clock),
        }),
      },
    });
    try {
      const response = await harness.invoke('rotation-worker', { scheduleTime: T0.toISOString() });
      expect(response.status).toBe(200);
      const [attempt] = await ledgerAttempts(db, 'rotation-worker');
      expect(attempt).toMatchObject({ state: 'succeeded' });
      expect(attempt.result).toMatchObject({
        tokenSigningKey: { created: 1, activated: 1 },
        secrets: { created: 5 },
      });
    } finally {
      await harness.close();
    }
  });
});
