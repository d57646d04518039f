/**
 * The keys the probes depend on. Realm certificate keys: the e2e realm signing with its own key,
 * a rotated-out key still verifying at the key server during its propagation window and refused
 * once realm-key-rotation-worker's destruction soft-deletes it, and a broken rotation turning the
 * probe red at the certificate step. API keys: per-run keys deleted after every run, a killed
 * run's keys swept by the next run once stale (never those of a run in flight), the original
 * e2e-runner's leftovers removed, and the bootstrap idempotent.
 */
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../functions/core/clock';
import { ManualClock } from '../support/manual-clock';
import { MINUTE_MS } from '../../functions/core/duration';
import { StepsFailedError } from '../../functions/core/errors';
import {
  createRunKeys,
  deleteRunKeys,
  E2E_REALM_NAME,
  ensureE2eApps,
  ensureE2eRealm,
  STALE_KEY_AGE_MS,
} from '../../functions/jobs/e2e/bootstrap';
import type { RunKeys } from '../../functions/jobs/e2e/bootstrap';
import { readApiKeySecrets } from '../../functions/jobs/e2e/api-key';
import { e2eFlowConfig } from '../../functions/jobs/e2e/config';
import type { E2eFlowConfig } from '../../functions/jobs/e2e/config';
import {
  checkClaimed,
  getCertificate,
  issueCode,
  publishKeys,
  verifyCode,
} from '../../functions/jobs/e2e/flow';
import { Probe } from '../../functions/jobs/e2e/http';
import { runE2eDefault } from '../../functions/jobs/e2e/run';
import { exposureKeyHmac, generateKeys } from '../../functions/jobs/e2e/tek';
import { insertRow } from '../support/seed-cleanup';
import { REALM_KEY_RING, resetE2eTables, startE2eWorld } from '../support/upstreams';
import type { E2eWorld } from '../support/upstreams';

jest.setTimeout(30_000);

let world: E2eWorld;
let config: E2eFlowConfig;
beforeAll(async () => {
  world = await startE2eWorld();
  config = e2eFlowConfig.parse(world.env);
});
afterAll(async () => world?.close());
beforeEach(async () => resetE2eTables(world));

async function count(sql: string): Promise<number> {
  const { rows } = await world.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`);
  return rows[0].n;
}

function runDefault(clock = systemClock) {
  const { context, logs } = world.context(clock);
  return { promise: runE2eDefault(context, config), logs };
}

async function failure(promise: Promise<unknown>): Promise<{ step: string; error: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  return (error as StepsFailedError).failures[0];
}

describe('realm certificate keys', () => {
  let realmId: number;
  let keys: RunKeys;
  let versionA: string;
  let rowA: number;

  /** The e2e realm on its own certificate key A (as realm-key-rotation-worker would leave it). */
  beforeEach(async () => {
    realmId = (await ensureE2eRealm(world.db.pool, new Date())).id;
    await world.db.pool.query(
      `UPDATE realms SET use_realm_certificate_key = true, certificate_issuer = 'e2e-issuer',
              certificate_audience = 'e2e-audience' WHERE id = $1`,
      [realmId],
    );
    const key = await world.keys.createSigningKey(REALM_KEY_RING, `realm-${realmId}`);
    versionA = await world.keys.createKeyVersion(key);
    rowA = await addKeyRow(versionA, true);
    keys = await createRunKeys(
      world.db.pool,
      realmId,
      await readApiKeySecrets(world.db.pool, world.secretStore),
      new Date(),
    );
  });
  afterEach(async () => deleteRunKeys(world.db.pool, keys));

  async function addKeyRow(version: string, active: boolean): Promise<number> {
    const { rows } = await world.db.pool.query<{ id: number }>(
      `INSERT INTO signing_keys (realm_id, key_id, active, created_at, updated_at) VALUES ($1, $2, $3, now(), now())
       RETURNING id`,
      [realmId, version, active],
    );
    return rows[0].id;
  }

  /** Runs the flow up to the certificate; the test publishes it when it wants to. */
  async function certificateNow(probe: Probe) {
    const now = new Date();
    const teks = generateKeys(now);
    const issued = await issueCode(probe, 'issue', config, keys, 'confirmed', now);
    const token = await verifyCode(probe, 'verify', config, keys, issued.code, 'confirmed');
    await checkClaimed(probe, 'code-status', config, keys, issued.uuid);
    const hmacSecret = randomBytes(32);
    const certificate = await getCertificate(
      probe,
      'certificate',
      config,
      keys,
      token,
      exposureKeyHmac(teks, hmacSecret),
    );
    return { keys: teks, hmacSecret, certificate };
  }

  const kidOf = (certificate: string) =>
    JSON.parse(Buffer.from(certificate.split('.')[0], 'base64url').toString()).kid as string;

  it('signs with the realm key and verifies at the key server', async () => {
    await expect(runDefault().promise).resolves.toMatchObject({ flow: 'default' });
    const probe = new Probe({ timeoutMs: 2000, signal: new AbortController().signal, userAgent: 'test' });
    const upload = await certificateNow(probe);
    expect(kidOf(upload.certificate)).toBe(`r${realmId}v${rowA}`);
  });

  it('a rotated-out key verifies during its propagation window and is refused once destroyed', async () => {
    const probe = new Probe({ timeoutMs: 2000, signal: new AbortController().signal, userAgent: 'test' });
    const signedByA = await certificateNow(probe);
    const alsoSignedByA = await certificateNow(probe);

    // Rotation: B becomes active, A is deactivated but kept (the propagation window).
    const versionB = await world.keys.createKeyVersion(`${REALM_KEY_RING}/cryptoKeys/realm-${realmId}`);
    await world.db.pool.query('UPDATE signing_keys SET active = false, updated_at = now() WHERE id = $1', [
      rowA,
    ]);
    const rowB = await addKeyRow(versionB, true);
    await expect(publishKeys(probe, 'publish', config, signedByA)).resolves.toMatchObject({
      revisionToken: expect.any(String),
    });
    const signedByB = await certificateNow(probe);
    expect(kidOf(signedByB.certificate)).toBe(`r${realmId}v${rowB}`);
    await expect(publishKeys(probe, 'publish', config, signedByB)).resolves.toBeDefined();
    await expect(runDefault().promise).resolves.toMatchObject({ flow: 'default' });

    // The window is over: rotation destroys A's version and soft-deletes its row.
    await world.keys.destroyKeyVersion(versionA);
    await world.db.pool.query('UPDATE signing_keys SET deleted_at = now() WHERE id = $1', [rowA]);
    await expect(publishKeys(probe, 'publish', config, alsoSignedByA)).rejects.toThrow(
      `answered HTTP 401 with error (health_authority_verification_certificate_invalid) "unable to validate diagnosis verification: no public key is registered for kid r${realmId}v${rowA} (unknown, deleted or destroyed)"`,
    );
    // New certificates come from B, so the probe itself stays green.
    await expect(runDefault().promise).resolves.toMatchObject({ flow: 'default' });
  });

  it('a broken rotation (the active row names a destroyed version) turns the probe red at the certificate step', async () => {
    await world.keys.destroyKeyVersion(versionA);
    const failed = await failure(runDefault().promise);
    expect(failed.step).toBe('certificate');
    expect(failed.error).toMatch(
      new RegExp(
        `answered HTTP 500 with error \\(internal_server_error\\) "signing with r${realmId}v${rowA} failed: key version .* is DESTROYED and cannot sign"`,
      ),
    );
  });

  it('a realm left without an active key turns the probe red at the certificate step', async () => {
    await world.db.pool.query('UPDATE signing_keys SET active = false');
    const failed = await failure(runDefault().promise);
    expect(failed.step).toBe('certificate');
    expect(failed.error).toMatch(/uses its own certificate key but has no active signing key/);
  });
});

describe('e2e API keys and bootstrap', () => {
  it("a run deletes its own keys; a killed run's keys are swept once stale, never while a run may be in flight", async () => {
    const clock = new ManualClock('2026-11-23T10:00:00Z');
    const realmId = (await ensureE2eRealm(world.db.pool, clock.now())).id;
    // A run that died before its finally: its two keys stay behind.
    await createRunKeys(
      world.db.pool,
      realmId,
      await readApiKeySecrets(world.db.pool, world.secretStore),
      clock.now(),
    );
    expect(await count('authorized_apps')).toBe(2);

    // Five minutes later the keys could belong to a run still in flight: left alone.
    clock.advance(5 * MINUTE_MS);
    await runDefault(clock).promise;
    expect(await count('authorized_apps')).toBe(2);

    clock.advance(STALE_KEY_AGE_MS);
    const { promise, logs } = runDefault(clock);
    await promise;
    expect(await count('authorized_apps')).toBe(0);
    expect(logs.entries()).toEqual(
      expect.arrayContaining([expect.objectContaining({ event: 'e2e_leftovers_removed', staleKeys: 2 })]),
    );
  });

  it("removes the original e2e-runner's leftover keys and apps, and keeps other realms' keys", async () => {
    const old = new Date('2026-01-01T00:00:00Z');
    const realmId = (await ensureE2eRealm(world.db.pool, old)).id;
    await insertRow(world.db.pool, 'realms', { name: 'Other', region_code: 'US-OT' });
    for (const [name, type] of [
      ['e2e-admin-key.a1b2c3', 1],
      ['e2e-device-key.a1b2c3', 0],
      ['e2e-stats-key.a1b2c3', 2],
      ['ci-admin-key', 1],
    ] as const) {
      await insertRow(world.db.pool, 'authorized_apps', {
        realm_id: realmId,
        name,
        api_key: randomBytes(8).toString('hex'),
        api_key_type: type,
        created_at: old,
      });
    }
    await insertRow(world.db.pool, 'authorized_apps', {
      realm_id: 2,
      name: 'e2e-admin-key.ffffff',
      api_key: 'other-realm',
      api_key_type: 1,
      created_at: old,
    });
    await insertRow(world.db.pool, 'mobile_apps', {
      realm_id: realmId,
      name: 'e2e-ios-a1b2c3',
      os: 1,
      url: 'https://x',
    });
    await runDefault().promise;
    const { rows } = await world.db.pool.query<{ name: string }>(
      'SELECT name FROM authorized_apps ORDER BY name',
    );
    expect(rows.map((row) => row.name)).toEqual(['ci-admin-key', 'e2e-admin-key.ffffff']);
    expect(await count("mobile_apps WHERE name = 'e2e-ios-a1b2c3'")).toBe(0);
  });

  it('bootstraps the realm and apps idempotently, auditing only a change', async () => {
    const now = new Date('2026-11-23T10:00:00Z');
    const first = await ensureE2eRealm(world.db.pool, now);
    await ensureE2eApps(world.db.pool, first.id, now);
    const second = await ensureE2eRealm(world.db.pool, now);
    await ensureE2eApps(world.db.pool, second.id, now);
    expect(second.id).toBe(first.id);
    expect(await count(`realms WHERE name = '${E2E_REALM_NAME}'`)).toBe(1);
    expect(await count('mobile_apps')).toBe(2);
    expect(await count('audit_entries')).toBe(0);
    // An operator turned a forced setting off: the next bootstrap restores it and audits that.
    await world.db.pool.query('UPDATE realms SET allowed_test_types = 2');
    await ensureE2eRealm(world.db.pool, now);
    expect(await count('realms WHERE allowed_test_types = 30')).toBe(1);
    expect(await count("audit_entries WHERE actor_id = 'system_test:1'")).toBe(1);
  });

  it('explains what to do when another realm already is the e2e realm', async () => {
    await insertRow(world.db.pool, 'realms', { name: 'Legacy e2e', region_code: 'E2E-OLD', is_e2e: true });
    await expect(ensureE2eRealm(world.db.pool, new Date())).rejects.toThrow(
      'realm 1 ("Legacy e2e") already is the e2e realm or holds region code E2E-TEST; rename it to e2e-test-realm or clear its is_e2e flag',
    );
  });
});
