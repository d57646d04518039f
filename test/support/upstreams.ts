/**
 * The e2e probes' world for tests: a database of the test file's own, the local key manager with a
 * system certificate key, the loopback upstreams on 127.0.0.1 sharing both, the environment that
 * points the probes at them, and a JobContext to run a probe directly. Time for the stand-ins is
 * a variable the test can move (`world.setNow`).
 */
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import { LocalSecretStore } from '../../functions/adapters/local-secret-store';
import type { Clock } from '../../functions/core/clock';
import type { Env } from '../../functions/core/config';
import type { JobContext } from '../../functions/core/job-spec';
import type { memoryWriter } from './memory-writer';
import { startUpstreams } from '../../local/upstreams/start';
import type { Upstreams } from '../../local/upstreams/start';
import { createTestDatabase } from './database';
import type { TestDatabase } from './database';
import { cleanupContext } from './seed-cleanup';

export const SYSTEM_CERTIFICATE_KEY =
  'projects/enx-test-project/locations/local/keyRings/certs/cryptoKeys/system';
export const REALM_KEY_RING = 'projects/enx-test-project/locations/local/keyRings/realm-keys';
export const HEALTH_AUTHORITY = 'com.example.e2e-test';

export interface E2eWorld {
  readonly db: TestDatabase;
  readonly keys: LocalKeyManager;
  readonly upstreams: Upstreams;
  readonly secretStore: LocalSecretStore;
  /** What the probes' config reads: the stand-ins' URLs and shared keys, plus a short timeout. */
  readonly env: Env;
  /** The stand-ins' clock; undefined means the real time. */
  setNow(now: Date | undefined): void;
  context(clock: Clock, signal?: AbortSignal): { context: JobContext; logs: ReturnType<typeof memoryWriter> };
  close(): Promise<void>;
}

export async function startE2eWorld(database?: TestDatabase): Promise<E2eWorld> {
  const db = database ?? (await createTestDatabase());
  const systemClock = { now: () => new Date() };
  const keys = new LocalKeyManager(db.pool, systemClock);
  const systemVersion = await keys.createKeyVersion(SYSTEM_CERTIFICATE_KEY);
  const secretStore = new LocalSecretStore(db.pool, systemClock);
  let fixedNow: Date | undefined;
  const upstreams = await startUpstreams({
    db: db.pool,
    keyManager: keys,
    secretStore,
    secretsParent: 'projects/enx-test-project/secrets',
    systemKey: {
      keyVersion: systemVersion,
      kid: 'v1',
      issuer: 'diagnosis-verification-test',
      audience: 'exposure-notifications-server',
    },
    healthAuthorityId: HEALTH_AUTHORITY,
    now: () => fixedNow ?? new Date(),
  });
  return {
    db,
    keys,
    upstreams,
    secretStore,
    env: { ...upstreams.env(), E2E_REQUEST_TIMEOUT: '2s', E2E_SKIP_SMS: 'true' },
    setNow: (now) => {
      fixedNow = now;
    },
    context: (clock, signal) => cleanupContext(db.pool, clock, { keyManager: keys, secretStore, signal }),
    close: async () => {
      await upstreams.close();
      if (!database) await db.drop();
    },
  };
}

/** Tables the probes and stand-ins write, emptied between tests. */
export async function resetE2eTables(world: E2eWorld): Promise<void> {
  await world.db.pool.query(
    'TRUNCATE realms, authorized_apps, mobile_apps, verification_codes, user_reports, tokens, signing_keys, audit_entries RESTART IDENTITY CASCADE',
  );
  world.upstreams.faults.clear();
  world.setNow(undefined);
}
