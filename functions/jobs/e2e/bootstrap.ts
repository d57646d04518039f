/**
 * The e2e realm, its mobile apps and the probes' API keys, kept in the verification server's own
 * tables (enx-jobs.md §4 "Startup bootstrap"), with the original's leak fixed.
 *
 * The original created three API keys and two apps per container start and deleted them only on a
 * graceful shutdown, so every killed instance left them behind for good. Here:
 * - the realm and the two apps have fixed names and are upserted: reused by every run and instance;
 * - API keys are per run: created when a run starts, hard-deleted in its `finally`, and every run
 *   first sweeps e2e keys older than STALE_KEY_AGE_MS, which only a run that died before its
 *   `finally` leaves behind (and the original's `e2e-*-key.<hex>` leftovers, same name pattern).
 * A killed instance therefore leaks its two keys for at most one sweep age; nothing piles up, and
 * no state lives in an instance's memory between runs. The full keys exist only in the run's memory;
 * the table holds their HMAC, as ENX stores every API key (api-key.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../core/db';
import { MINUTE_MS } from '../../core/duration';
import { writeAudit } from '../../db/audit';
import type { AuditActor } from '../../db/audit';
import { mintApiKey } from './api-key';
import type { ApiKeySecrets } from './api-key';

export const E2E_REALM_NAME = 'e2e-test-realm';
/** ENX stores region codes upper-case. */
export const E2E_REGION_CODE = 'E2E-TEST';
/** confirmed | likely | negative | user-report (2 | 4 | 8 | 16), as the original forces. */
export const E2E_TEST_TYPES = 2 | 4 | 8 | 16;
/** Audit actor of the bootstrap, the original's database.SystemTest. */
const ACTOR: AuditActor = { id: 'system_test:1', display: 'System Test' };

/** ENX's APIKeyType values (authorized_apps.api_key_type). */
export const API_KEY_TYPE = { device: 0, admin: 1, stats: 2 } as const;

/**
 * Age past which an e2e API key is a leftover. Well above any probe's attempt deadline (a test pins
 * this against the catalog), so a sweep never deletes the keys of a run still in flight, also one
 * of the other probes running at the same moment.
 */
export const STALE_KEY_AGE_MS = 10 * MINUTE_MS;

const KEY_NAME_PATTERN = '^e2e-(admin|device|stats)-key\\.';
/** The original's per-start apps (e2e-ios-<hex6>); ours have fixed names. */
const LEGACY_APP_PATTERN = '^e2e-(ios|android)-[0-9a-f]{6}$';

export const E2E_APPS = [
  { name: 'e2e-ios', os: 1, url: 'https://ios.test.app', appId: 'com.example.e2e.ios', sha: null },
  {
    name: 'e2e-android',
    os: 2,
    url: 'https://android.test.app',
    appId: 'com.example.e2e.android',
    // One synthetic SHA-256 fingerprint in ENX's format: 32 upper-case hex pairs joined by colons.
    sha: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').slice(-2))
      .join(':')
      .toUpperCase(),
  },
] as const;

export interface E2eRealm {
  readonly id: number;
}

/**
 * Finds or creates the e2e realm and forces the settings the probes rely on. Safe to run from
 * several probes at once: the unique name decides which insert wins, and the update is a no-op
 * (no audit entry) when nothing changed.
 */
export async function ensureE2eRealm(db: Db, now: Date): Promise<E2eRealm> {
  await db.query(
    `INSERT INTO realms (name, region_code, is_e2e, allowed_test_types, allow_bulk_upload,
                         use_authenticated_sms, allow_admin_user_report, created_at, updated_at)
     VALUES ($1, $2, true, $3, true, true, true, $4, $4)
     ON CONFLICT DO NOTHING`,
    [E2E_REALM_NAME, E2E_REGION_CODE, E2E_TEST_TYPES, now],
  );
  const { rows } = await db.query<{ id: number }>('SELECT id FROM realms WHERE name = $1', [E2E_REALM_NAME]);
  if (rows.length === 0) {
    const { rows: other } = await db.query<{ id: number; name: string }>(
      `SELECT id, name FROM realms WHERE (is_e2e OR upper(region_code) = $1) LIMIT 1`,
      [E2E_REGION_CODE],
    );
    throw new Error(
      `the e2e realm "${E2E_REALM_NAME}" could not be created: realm ${other[0]?.id} ("${other[0]?.name}") ` +
        `already is the e2e realm or holds region code ${E2E_REGION_CODE}; rename it to ${E2E_REALM_NAME} or clear its is_e2e flag`,
    );
  }
  const realmId = rows[0].id;
  const updated = await db.query(
    `UPDATE realms SET is_e2e = true, deleted_at = NULL, allowed_test_types = $2, allow_bulk_upload = true,
            use_authenticated_sms = true, allow_admin_user_report = true, updated_at = $3
      WHERE id = $1 AND NOT (is_e2e AND deleted_at IS NULL AND allowed_test_types = $2
            AND allow_bulk_upload IS TRUE AND use_authenticated_sms IS TRUE AND allow_admin_user_report IS TRUE)`,
    [realmId, E2E_TEST_TYPES, now],
  );
  if ((updated.rowCount ?? 0) > 0) {
    await writeAudit(db, ACTOR, {
      realmId,
      action: 'updated realm',
      target: { id: `realm:${realmId}`, display: E2E_REALM_NAME },
      now,
    });
  }
  return { id: realmId };
}

/** The realm's iOS and Android apps, which the redirect service serves; upserted, never duplicated. */
export async function ensureE2eApps(db: Db, realmId: number, now: Date): Promise<void> {
  for (const app of E2E_APPS) {
    await db.query(
      `INSERT INTO mobile_apps (name, realm_id, url, os, app_id, sha, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
       ON CONFLICT ON CONSTRAINT uix_name_realm_id_os DO UPDATE
          SET url = EXCLUDED.url, app_id = EXCLUDED.app_id, sha = EXCLUDED.sha, deleted_at = NULL,
              disable_redirect = false, updated_at = EXCLUDED.updated_at
        WHERE mobile_apps.url IS DISTINCT FROM EXCLUDED.url OR mobile_apps.app_id IS DISTINCT FROM EXCLUDED.app_id
           OR mobile_apps.sha IS DISTINCT FROM EXCLUDED.sha OR mobile_apps.deleted_at IS NOT NULL
           OR mobile_apps.disable_redirect`,
      [app.name, realmId, app.url, app.os, app.appId, app.sha, now],
    );
  }
}

export interface Sweep {
  readonly staleKeys: number;
  readonly legacyApps: number;
}

/** Deletes what dead runs (and the original e2e-runner) left behind in the e2e realm. */
export async function sweepLeftovers(db: Db, realmId: number, now: Date): Promise<Sweep> {
  const keys = await db.query(
    `DELETE FROM authorized_apps
      WHERE realm_id = $1 AND name ~ $2 AND (created_at IS NULL OR created_at < $3)`,
    [realmId, KEY_NAME_PATTERN, new Date(now.getTime() - STALE_KEY_AGE_MS)],
  );
  const apps = await db.query('DELETE FROM mobile_apps WHERE realm_id = $1 AND name ~ $2', [
    realmId,
    LEGACY_APP_PATTERN,
  ]);
  return { staleKeys: keys.rowCount ?? 0, legacyApps: apps.rowCount ?? 0 };
}

export interface RunKeys {
  readonly admin: string;
  readonly device: string;
  readonly ids: readonly number[];
}

/**
 * Creates this run's admin and device keys, as ENX creates API keys (api-key.ts); the caller
 * deletes them (deleteRunKeys) in a finally.
 */
export async function createRunKeys(
  db: Db,
  realmId: number,
  secrets: ApiKeySecrets,
  now: Date,
): Promise<RunKeys> {
  const suffix = randomBytes(4).toString('hex');
  const admin = mintApiKey(secrets, realmId);
  const device = mintApiKey(secrets, realmId);
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO authorized_apps (realm_id, name, api_key_preview, api_key, api_key_type, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $10, $10), ($1, $6, $7, $8, $9, $10, $10)
     RETURNING id`,
    [
      realmId,
      `e2e-admin-key.${suffix}`,
      admin.preview,
      admin.stored,
      API_KEY_TYPE.admin,
      `e2e-device-key.${suffix}`,
      device.preview,
      device.stored,
      API_KEY_TYPE.device,
      now,
    ],
  );
  return { admin: admin.full, device: device.full, ids: rows.map((row) => row.id) };
}

export async function deleteRunKeys(db: Db, keys: RunKeys): Promise<void> {
  await db.query('DELETE FROM authorized_apps WHERE id = ANY($1::int[])', [keys.ids]);
}
