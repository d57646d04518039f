/**
 * realm-key-rotation-worker's rules (enx-jobs.md §7.2) at the edges of each threshold, on a real
 * PostgreSQL with the local KMS: create, activate after the delay, destroy after retirement plus
 * grace, the DB_MAX_KEY_VERSIONS cap, and a failing realm that fails the run naming realm and stage
 * while the other realms are rotated.
 */
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import type { KeyManager } from '../../functions/ports/key-manager';
import { ManualClock } from '../support/manual-clock';
import { StepsFailedError } from '../../functions/core/errors';
import { realmKeyRotationConfig } from '../../functions/jobs/realm-key-rotation-worker/config';
import { runRealmKeyRotation } from '../../functions/jobs/realm-key-rotation-worker/run';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import {
  HOUR_MS,
  KEY_RING,
  T0,
  addRealm,
  addRealmKey,
  before,
  resetRotationTables,
  rotationContext,
  testRealmConfig,
} from '../support/rotation-fixtures';

let db: TestDatabase;
const config = testRealmConfig();
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
  const { context } = rotationContext(db.pool, clock, {
    keyManager: keyManager ?? new LocalKeyManager(db.pool, clock),
  });
  return runRealmKeyRotation(context, config) as Promise<Record<string, unknown>>;
}

async function keys(realmId: number) {
  const { rows } = await db.pool.query<{ key_id: string; active: boolean; deleted: boolean }>(
    'SELECT key_id, active, deleted_at IS NOT NULL AS deleted FROM signing_keys WHERE realm_id = $1 ORDER BY id',
    [realmId],
  );
  return rows;
}

async function versionState(name: string): Promise<string> {
  const { rows } = await db.pool.query<{ state: string }>(
    'SELECT state FROM enx_jobs_local_kms_versions WHERE name = $1',
    [name],
  );
  return rows[0]?.state;
}

describe('realm-key-rotation-worker', () => {
  it('rejects a key name as DB_KEYRING', () => {
    expect(() => realmKeyRotationConfig.parse({ DB_KEYRING: `${KEY_RING}/cryptoKeys/realm-1` })).toThrow(
      /DB_KEYRING: .*names a key; drop \/cryptoKeys/,
    );
  });

  it('only rotates realms with auto_rotate_certificate_key; the first key is active at once', async () => {
    await addRealm(db.pool, 1);
    await addRealm(db.pool, 2, { autoRotate: false });
    const result = await run(new ManualClock(T0));
    expect(result).toMatchObject({ realms: 1, keysCreated: 1, keysActivated: 0 });
    expect(await keys(1)).toEqual([expect.objectContaining({ active: true, deleted: false })]);
    expect(await keys(2)).toEqual([]);
  });

  it('creates a successor once the active key is strictly older than its max age, and activates it strictly after the delay', async () => {
    await addRealm(db.pool, 1);
    const clock = new ManualClock(T0);
    const first = await addRealmKey(db.pool, 1, { createdAt: before(T0, 5 * HOUR_MS), active: true });
    expect(await run(clock)).toMatchObject({ keysCreated: 0 });
    clock.advance(MS);
    expect(await run(clock)).toMatchObject({ keysCreated: 1, keysActivated: 0 });
    expect((await keys(1)).map((row) => row.active)).toEqual([true, false]);
    clock.advance(HOUR_MS);
    expect(await run(clock)).toMatchObject({ keysActivated: 0 });
    clock.advance(MS);
    expect(await run(clock)).toMatchObject({ keysActivated: 1, keysDestroyed: 0 });
    expect((await keys(1)).map((row) => row.active)).toEqual([false, true]);
    // The retired key is destroyed strictly after the delay (1h, longer than the 15-min certificates).
    clock.advance(HOUR_MS);
    expect(await run(clock)).toMatchObject({ keysDestroyed: 0 });
    clock.advance(MS);
    expect(await run(clock)).toMatchObject({ keysDestroyed: 1 });
    expect(await keys(1)).toEqual([
      expect.objectContaining({ key_id: first, active: false, deleted: true }),
      expect.objectContaining({ active: true, deleted: false }),
    ]);
    expect(await versionState(first)).toBe('DESTROYED');
  });

  it("waits for the realm's certificate duration when it is longer than the delay", async () => {
    await addRealm(db.pool, 1, { certificateDurationS: 3 * 3600 });
    const clock = new ManualClock(T0);
    await addRealmKey(db.pool, 1, {
      createdAt: before(T0, 9 * HOUR_MS),
      active: false,
      updatedAt: before(T0, 2 * HOUR_MS),
    });
    await addRealmKey(db.pool, 1, { createdAt: before(T0, 8 * HOUR_MS), active: true });
    expect(await run(clock)).toMatchObject({ keysDestroyed: 0 });
    clock.advance(HOUR_MS + MS);
    expect(await run(clock)).toMatchObject({ keysDestroyed: 1 });
  });

  it('refuses to pass DB_MAX_KEY_VERSIONS, naming the realm, and rotates the other realms', async () => {
    await addRealm(db.pool, 1);
    await addRealm(db.pool, 2);
    for (const hours of [30, 20]) {
      await addRealmKey(db.pool, 1, {
        createdAt: before(T0, hours * HOUR_MS),
        active: false,
        updatedAt: before(T0, 10 * MS),
      });
    }
    await addRealmKey(db.pool, 1, { createdAt: before(T0, 6 * HOUR_MS), active: true });
    const error = await run(new ManualClock(T0)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StepsFailedError);
    const failure = error as StepsFailedError;
    expect(failure.failures.map((item) => item.step)).toEqual(['realm 1 create']);
    expect(failure.message).toMatch(
      /realm 1 create: too many certificate signing keys: realm 1 has 3 .*DB_MAX_KEY_VERSIONS is 3/,
    );
    expect(failure.partial).toMatchObject({ realms: 2, keysCreated: 1 });
    expect(await keys(2)).toHaveLength(1);
  });

  it('fails the run naming realm and stage when KMS fails for one realm, after rotating the others', async () => {
    await addRealm(db.pool, 1);
    await addRealm(db.pool, 2);
    const clock = new ManualClock(T0);
    const inner = new LocalKeyManager(db.pool, clock);
    const failing: KeyManager = Object.assign(Object.create(inner) as KeyManager, {
      createKeyVersion: async (name: string) => {
        if (name.endsWith('realm-1'))
          throw new Error('7 PERMISSION_DENIED: cloudkms.cryptoKeyVersions.create');
        return inner.createKeyVersion(name);
      },
    });
    const failure = (await run(clock, failing).catch((caught: unknown) => caught)) as StepsFailedError;
    expect(failure).toBeInstanceOf(StepsFailedError);
    expect(failure.message).toMatch(
      /realm 1 create: could not create a version of .*realm-1.*roles\/cloudkms.admin.*PERMISSION_DENIED/,
    );
    expect(await keys(1)).toEqual([]);
    expect(await keys(2)).toHaveLength(1);
  });

  it('destroys a KMS version the database never recorded when no key is due', async () => {
    await addRealm(db.pool, 1);
    const clock = new ManualClock(T0);
    await run(clock);
    const stray = await new LocalKeyManager(db.pool, clock).createKeyVersion(
      `${KEY_RING}/cryptoKeys/realm-1`,
    );
    expect(await run(clock)).toMatchObject({ orphansDestroyed: 1, keysCreated: 0 });
    expect(await versionState(stray)).toBe('DESTROYED');
    expect((await keys(1)).find((row) => row.key_id === stray)).toMatchObject({
      deleted: true,
      active: false,
    });
  });
});
