/**
 * Demo data for the local fleet: a small verification server's worth of realms, users, API keys,
 * apps, codes, tokens, audit entries, statistics, user reports and keys, with ages placed around
 * every cleanup-worker threshold so each run has real work:
 *
 * - the base (realms, users with memberships, live keys and apps, recent statistics, the active
 *   token-signing key) is seeded once per database;
 * - a batch of ageing rows is seeded once per clock hour (the first start, later starts, and the
 *   fleet's hourly top-up): per threshold, a few rows already past it, one crossing it about every
 *   five minutes during the hour (so every run of a five-minute job purges something), and one
 *   kept. Ages are relative to now, so a database reused days later gets fresh expired rows.
 *
 * Each seeding is recorded in enx_jobs_local_demo_batches (a local-mode table, created here) in the
 * same transaction as its rows, so seeding is idempotent: a batch is never seeded twice. Key
 * versions are real versions in the local KMS, created through LocalKeyManager with the time they
 * would have been created; a version made for a batch whose transaction then failed is left
 * unreferenced, which is harmless.
 *
 * Thresholds come from the same parsed cleanup configuration the job uses, so changing, say,
 * AUDIT_ENTRY_MAX_AGE moves the demo rows with it.
 */
import { randomBytes } from 'node:crypto';
import { LocalKeyManager } from '../functions/adapters/local-key-manager';
import type { Db, DbClient } from '../functions/core/db';
import { withTransaction } from '../functions/core/db';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../functions/core/duration';
import type { CleanupConfig } from '../functions/jobs/cleanup-worker/config';
import { LOCAL_REALM_KEY_RING } from './local-env';

export interface DemoSeed {
  /** The base was seeded by this call (first start on this database). */
  readonly base: boolean;
  /** The hourly batch seeded by this call; undefined when this hour's batch already exists. */
  readonly batch?: string;
  readonly rows: number;
}

/** The cleanup thresholds the demo rows are placed around. */
export type DemoThresholds = Pick<
  CleanupConfig,
  | 'authorizedAppMaxAgeMs'
  | 'verificationCodeMaxAgeMs'
  | 'verificationCodeStatusMaxAgeMs'
  | 'verificationTokenMaxAgeMs'
  | 'mobileAppMaxAgeMs'
  | 'auditEntryMaxAgeMs'
  | 'userPurgeMaxAgeMs'
  | 'signingTokenKeyMaxAgeMs'
  | 'verificationSigningKeyMaxAgeMs'
  | 'statsMaxAgeMs'
  | 'realmChaffEventMaxAgeMs'
  | 'userReportMaxAgeMs'
  | 'userReportUnclaimedMaxAgeMs'
  | 'jobLedgerMaxAgeMs'
  | 'tokenSigningKey'
>;

const BATCHES_TABLE = 'enx_jobs_local_demo_batches';
const USER_REPORT_TEST_TYPE = 16;

interface RealmSeed {
  readonly name: string;
  readonly region: string;
  readonly testTypes: number;
  readonly isE2e: boolean;
  readonly contacts: readonly string[];
  /** modeler-worker fits this realm's limit from the 30 days of statistics below. */
  readonly abusePrevention?: boolean;
  /** Seeded claim-ratio columns; Demo Territory's are anomalous, so emailer-anomalies has mail to send. */
  readonly claimRatios?: { readonly last: number; readonly mean: number; readonly stddev: number };
}

const REALMS: readonly RealmSeed[] = [
  {
    name: 'Demo State',
    region: 'US-DS',
    testTypes: 14,
    isE2e: false,
    contacts: ['health-it@demo-state.example'],
    abusePrevention: true,
  },
  {
    // Issues user reports (bit 16), which gives the unclaimed-report step its floor.
    name: 'Demo Territory',
    region: 'US-DT',
    testTypes: 14 | USER_REPORT_TEST_TYPE,
    isE2e: false,
    contacts: ['ops@demo-territory.example', 'epi@demo-territory.example'],
    claimRatios: { last: 0.41, mean: 0.78, stddev: 0.06 },
  },
  { name: 'e2e-test-realm', region: 'E2E', testTypes: 30, isE2e: true, contacts: [] },
];

const USERS = [
  { email: 'admin@enx-local.example', name: 'Local Admin', admin: true, realm: -1, permissions: 0 },
  { email: 'alice@demo-state.example', name: 'Alice Admin', admin: false, realm: 0, permissions: 0x7fff },
  { email: 'bob@demo-state.example', name: 'Bob Issuer', admin: false, realm: 0, permissions: 0x3 },
  { email: 'carol@demo-territory.example', name: 'Carol Issuer', admin: false, realm: 1, permissions: 0x3 },
] as const;

/**
 * Ages around a threshold: three past it (purged on the next run), twelve crossing it during the
 * next hour, five minutes apart (one for each run of a five-minute job), one a day short (kept).
 */
export function agesAround(thresholdMs: number): number[] {
  const past = [DAY_MS, HOUR_MS, MINUTE_MS].map((extra) => thresholdMs + extra);
  const crossing = Array.from({ length: 12 }, (_, index) => thresholdMs - (2 + 5 * index) * MINUTE_MS);
  return [...past, ...crossing, thresholdMs - DAY_MS].filter((age) => age > 0);
}

/** The hourly batch a time belongs to, in UTC: `hour-2026-11-23T20`. */
export function batchName(now: Date): string {
  return `hour-${now.toISOString().slice(0, 13)}`;
}

function utcDay(now: Date, daysAgo: number): string {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(midnight - daysAgo * DAY_MS).toISOString().slice(0, 10);
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

type Row = Record<string, unknown>;

/** One multi-row INSERT; rows that hit a unique constraint are skipped. Returns rows inserted. */
async function insertRows(client: DbClient, table: string, rows: readonly Row[]): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = Object.keys(rows[0]);
  const params: unknown[] = [];
  const tuples = rows.map(
    (row) =>
      `(${columns
        .map((column) => {
          params.push(row[column]);
          return `$${params.length}`;
        })
        .join(', ')})`,
  );
  const result = await client.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
    params,
  );
  return result.rowCount ?? 0;
}

async function ensureBatchesTable(db: Db): Promise<void> {
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${BATCHES_TABLE} (
       batch text PRIMARY KEY,
       seeded_at timestamptz NOT NULL,
       row_count integer NOT NULL DEFAULT 0
     )`,
  );
}

async function batchSeeded(db: Db, batch: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM ${BATCHES_TABLE} WHERE batch = $1`, [batch]);
  return (rowCount ?? 0) > 0;
}

/**
 * Runs `seed` and records the batch in one transaction; does nothing when the batch is already
 * recorded (the advisory lock makes two seeders queue instead of both seeding).
 */
async function seedOnce(
  db: Db,
  batch: string,
  now: Date,
  seed: (client: DbClient) => Promise<number>,
): Promise<number | undefined> {
  return withTransaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [BATCHES_TABLE]);
    const claimed = await client.query(
      `INSERT INTO ${BATCHES_TABLE} (batch, seeded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [batch, now],
    );
    if (claimed.rowCount === 0) return undefined;
    const rows = await seed(client);
    await client.query(`UPDATE ${BATCHES_TABLE} SET row_count = $2 WHERE batch = $1`, [batch, rows]);
    return rows;
  });
}

/** A key manager whose clock stands still at `at`, so a version records when it "was" created. */
function keyManagerAt(db: Db, at: Date): LocalKeyManager {
  return new LocalKeyManager(db, { now: () => at });
}

interface Ids {
  readonly realms: number[];
  readonly users: number[];
  readonly apps: number[];
}

async function lookUpIds(db: Db | DbClient): Promise<Ids> {
  // In REALMS order, not id order: the e2e stand-ins may create their realm before the demo data.
  const realms = await db.query<{ id: number }>(
    'SELECT id FROM realms WHERE name = ANY($1::text[]) ORDER BY array_position($1::text[], name)',
    [REALMS.map((realm) => realm.name)],
  );
  const users = await db.query<{ id: number }>(
    'SELECT id FROM users WHERE email = ANY($1) AND system_admin = false ORDER BY id',
    [USERS.map((user) => user.email)],
  );
  const apps = await db.query<{ id: number }>(
    "SELECT id FROM authorized_apps WHERE api_key LIKE 'demo-base-%' ORDER BY id",
  );
  return {
    realms: realms.rows.map((row) => row.id),
    users: users.rows.map((row) => row.id),
    apps: apps.rows.map((row) => row.id),
  };
}

async function seedBase(client: DbClient, now: Date, activeKeyVersion: string | undefined): Promise<number> {
  let rows = 0;
  const created = new Date(now.getTime() - 400 * DAY_MS);
  rows += await insertRows(
    client,
    'realms',
    REALMS.map((realm) => ({
      name: realm.name,
      region_code: realm.region,
      is_e2e: realm.isE2e,
      abuse_prevention_enabled: realm.abusePrevention ?? false,
      last_codes_claimed_ratio: realm.claimRatios?.last ?? 0,
      codes_claimed_ratio_mean: realm.claimRatios?.mean ?? 0,
      codes_claimed_ratio_stddev: realm.claimRatios?.stddev ?? 0,
      allowed_test_types: realm.testTypes,
      code_duration: 900,
      long_code_duration: 86_400,
      contact_email_addresses: realm.contacts,
      // realm-key-rotation-worker rotates these realms' certificate keys (they keep signing with
      // the system key, so stats pulls do not wait for the first key).
      auto_rotate_certificate_key: !realm.isE2e,
      created_at: created,
      updated_at: created,
    })),
  );
  const { rows: realmRows } = await client.query<{ id: number; name: string }>(
    'SELECT id, name FROM realms WHERE name = ANY($1)',
    [REALMS.map((realm) => realm.name)],
  );
  const realmId = (index: number) => realmRows.find((row) => row.name === REALMS[index].name)?.id;

  rows += await insertRows(
    client,
    'users',
    USERS.map((user) => ({
      email: user.email,
      name: user.name,
      system_admin: user.admin,
      created_at: created,
      updated_at: created,
    })),
  );
  const { rows: userRows } = await client.query<{ id: number; email: string }>(
    'SELECT id, email FROM users WHERE email = ANY($1)',
    [USERS.map((user) => user.email)],
  );
  rows += await insertRows(
    client,
    'memberships',
    USERS.filter((user) => user.realm >= 0).map((user) => ({
      realm_id: realmId(user.realm),
      user_id: userRows.find((row) => row.email === user.email)?.id,
      permissions: user.permissions,
      created_at: created,
      updated_at: created,
    })),
  );
  rows += await insertRows(
    client,
    'authorized_apps',
    [0, 1].flatMap((realm) =>
      ['lab portal', 'hospital integration'].map((name, index) => ({
        realm_id: realmId(realm),
        name: `${REALMS[realm].name} ${name}`,
        api_key: `demo-base-${realm}-${index}`,
        api_key_preview: `demo${realm}${index}`,
        api_key_type: 0,
        created_at: created,
        updated_at: created,
        last_used_at: now,
      })),
    ),
  );
  rows += await insertRows(
    client,
    'mobile_apps',
    [0, 1].flatMap((realm) =>
      [1, 2].map((os) => ({
        realm_id: realmId(realm),
        name: `${REALMS[realm].name} Exposure Notifications`,
        os,
        app_id:
          os === 1 ? `org.example.en.${REALMS[realm].region.toLowerCase()}` : `org.example.en.r${realm}`,
        url: `https://apps.example/${REALMS[realm].region.toLowerCase()}`,
        sha:
          os === 2
            ? hex(32)
                .toUpperCase()
                .replace(/(..)(?!$)/g, '$1:')
            : null,
        created_at: created,
        updated_at: created,
      })),
    ),
  );
  const { rows: appRows } = await client.query<{ id: number }>(
    "SELECT id FROM authorized_apps WHERE api_key LIKE 'demo-base-%'",
  );
  // Recent statistics: well inside STATS_MAX_AGE, so they stay (and give later jobs a history).
  const recentDays = Array.from({ length: 30 }, (_, index) => utcDay(now, index + 1));
  rows += await insertRows(
    client,
    'realm_stats',
    recentDays.flatMap((date, index) =>
      [0, 1].map((realm) => ({
        date,
        realm_id: realmId(realm),
        codes_issued: 40 + ((index * 7 + realm * 13) % 25),
        codes_claimed: 30 + ((index * 5 + realm * 11) % 15),
        tokens_claimed: 28 + ((index * 3 + realm) % 12),
      })),
    ),
  );
  rows += await insertRows(
    client,
    'authorized_app_stats',
    recentDays.flatMap((date, index) =>
      appRows.map((app) => ({ date, authorized_app_id: app.id, codes_issued: 10 + (index % 7) })),
    ),
  );
  rows += await insertRows(
    client,
    'key_server_stats',
    [0, 1].map((realm) => ({ realm_id: realmId(realm) })),
  );
  if (activeKeyVersion) {
    rows += await insertRows(client, 'token_signing_keys', [
      // Created long ago, so rotation-worker's first run rotates it and a fresh fleet shows a rotation.
      { key_version_id: activeKeyVersion, is_active: true, created_at: created, updated_at: created },
    ]);
  }
  return rows;
}

interface BatchKeys {
  /** Inactive token-signing key versions, with when they were rotated out. */
  readonly tokenKeys: { version: string; rotatedOutAt: Date; createdAt: Date }[];
  /** Destroyed realm certificate key versions, with when their rows were soft-deleted. */
  readonly realmKeys: { version: string; realmId: number; deletedAt: Date; createdAt: Date }[];
}

async function createBatchKeys(db: Db, now: Date, t: DemoThresholds, realmIds: number[]): Promise<BatchKeys> {
  const tokenKeys: BatchKeys['tokenKeys'] = [];
  for (const age of agesAround(t.signingTokenKeyMaxAgeMs)) {
    const rotatedOutAt = new Date(now.getTime() - age);
    const createdAt = new Date(rotatedOutAt.getTime() - 30 * DAY_MS);
    const version = await keyManagerAt(db, createdAt).createKeyVersion(t.tokenSigningKey);
    tokenKeys.push({ version, rotatedOutAt, createdAt });
  }
  const realmKeys: BatchKeys['realmKeys'] = [];
  if (realmIds.length > 0) {
    for (const [index, age] of agesAround(t.verificationSigningKeyMaxAgeMs).entries()) {
      const realmId = realmIds[index % realmIds.length];
      const deletedAt = new Date(now.getTime() - age);
      const createdAt = new Date(deletedAt.getTime() - 90 * DAY_MS);
      const keys = keyManagerAt(db, createdAt);
      const key = await keys.createSigningKey(LOCAL_REALM_KEY_RING, `realm-${realmId}`);
      const version = await keys.createKeyVersion(key);
      // Realm-key rotation destroys the version when it soft-deletes the row; cleanup only
      // removes the row.
      await keyManagerAt(db, deletedAt).destroyKeyVersion(version);
      realmKeys.push({ version, realmId, deletedAt, createdAt });
    }
  }
  return { tokenKeys, realmKeys };
}

async function seedBatch(
  client: DbClient,
  now: Date,
  t: DemoThresholds,
  ids: Ids,
  keys: BatchKeys,
  tag: string,
): Promise<number> {
  const at = (ageMs: number) => new Date(now.getTime() - ageMs);
  const realm = (index: number) => ids.realms[index % Math.max(1, ids.realms.length)];
  let rows = 0;

  rows += await insertRows(
    client,
    'authorized_apps',
    agesAround(t.authorizedAppMaxAgeMs).map((age, index) => ({
      realm_id: realm(index),
      name: `Retired key ${tag}-${index}`,
      api_key: `demo-${tag}-${index}-${hex(8)}`,
      api_key_preview: hex(3),
      api_key_type: 0,
      created_at: at(age + 60 * DAY_MS),
      updated_at: at(age),
      deleted_at: at(age),
    })),
  );

  // Codes: the long code expires last and decides; the short one expired a day earlier. Ages
  // straddle both the recycle threshold (48 h) and the delete threshold (14 days).
  const codeAges = [
    ...agesAround(t.verificationCodeMaxAgeMs),
    ...agesAround(t.verificationCodeStatusMaxAgeMs),
  ];
  rows += await insertRows(client, 'verification_codes', [
    ...codeAges.map((age, index) => ({
      realm_id: realm(index),
      code: hex(16),
      long_code: hex(16),
      claimed: index % 3 === 0,
      test_type: index % 2 === 0 ? 'confirmed' : 'likely',
      created_at: at(age + DAY_MS + 15 * MINUTE_MS),
      updated_at: at(age + DAY_MS),
      expires_at: at(age + DAY_MS),
      long_expires_at: at(age),
    })),
    // Live codes: nothing to do for them yet.
    ...[0, 1, 2].map((index) => ({
      realm_id: realm(index),
      code: hex(16),
      long_code: hex(16),
      claimed: false,
      test_type: 'confirmed',
      created_at: now,
      updated_at: now,
      expires_at: at(-15 * MINUTE_MS),
      long_expires_at: at(-DAY_MS),
    })),
  ]);

  rows += await insertRows(
    client,
    'tokens',
    agesAround(t.verificationTokenMaxAgeMs).map((age, index) => ({
      realm_id: realm(index),
      token_id: `demo-${tag}-${index}-${hex(6)}`,
      test_type: 'confirmed',
      used: index % 2 === 0,
      created_at: at(age + DAY_MS),
      updated_at: at(age + DAY_MS),
      expires_at: at(age),
    })),
  );

  // Users: realm-less ones around USER_PURGE_MAX_AGE, plus two old ones left with a
  // permission-less membership (the orphans MEMBERSHIP removes, after which USER removes them).
  const userAges = agesAround(t.userPurgeMaxAgeMs);
  const users = await client.query<{ id: number }>(
    `INSERT INTO users (email, name, system_admin, created_at, updated_at)
     SELECT 'user-' || $1 || '-' || n || '@demo.example', 'Former user ' || n, false, ts, ts
       FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(ts, n)
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [tag, [...userAges.map(at), at(t.userPurgeMaxAgeMs + DAY_MS), at(t.userPurgeMaxAgeMs + 2 * DAY_MS)]],
  );
  rows += users.rowCount ?? 0;
  const orphans = users.rows.slice(-2);
  rows += await insertRows(
    client,
    'memberships',
    orphans.map((user, index) => ({
      realm_id: realm(index),
      user_id: user.id,
      permissions: 0,
      created_at: at(t.userPurgeMaxAgeMs + DAY_MS),
      updated_at: at(t.userPurgeMaxAgeMs + DAY_MS),
    })),
  );

  rows += await insertRows(
    client,
    'mobile_apps',
    agesAround(t.mobileAppMaxAgeMs).map((age, index) => ({
      realm_id: realm(index),
      name: `Withdrawn app ${tag}-${index}`,
      os: 1 + (index % 2),
      app_id: `org.example.withdrawn.b${tag.replace(/\D/g, '')}.i${index}`,
      url: 'https://apps.example/withdrawn',
      created_at: at(age + 90 * DAY_MS),
      updated_at: at(age),
      deleted_at: at(age),
    })),
  );

  const actions = ['updated realm', 'created API key', 'issued bulk codes', 'changed SMS template'];
  rows += await insertRows(
    client,
    'audit_entries',
    agesAround(t.auditEntryMaxAgeMs).map((age, index) => ({
      realm_id: realm(index),
      actor_id: `user:${ids.users[index % Math.max(1, ids.users.length)] ?? 0}`,
      actor_display: 'Alice Admin',
      action: actions[index % actions.length],
      target_id: `realm:${realm(index)}`,
      target_display: REALMS[index % 2].name,
      diff: '{"demo":true}',
      created_at: at(age),
    })),
  );

  rows += await insertRows(
    client,
    'token_signing_keys',
    keys.tokenKeys.map((key) => ({
      key_version_id: key.version,
      is_active: false,
      created_at: key.createdAt,
      updated_at: key.rotatedOutAt,
    })),
  );
  rows += await insertRows(
    client,
    'signing_keys',
    keys.realmKeys.map((key) => ({
      realm_id: key.realmId,
      key_id: key.version,
      active: false,
      created_at: key.createdAt,
      updated_at: key.deletedAt,
      deleted_at: key.deletedAt,
    })),
  );

  rows += await seedStats(client, now, t, ids);

  // Old run records of a four-hourly job, for JOB_LEDGER: finished attempts and their ticks on
  // both sides of JOB_LEDGER_MAX_AGE. They sit far behind the job's real runs, which they do not
  // disturb (the watchdog reads the newest success).
  const ledgerAges = agesAround(t.jobLedgerMaxAgeMs);
  const ledgerTick = (age: number) => `${at(age).toISOString()}-demo-${tag}`;
  rows += await insertRows(
    client,
    'enx_jobs_ticks',
    ledgerAges.map((age) => ({
      job_id: 'appsync-worker',
      tick_id: ledgerTick(age),
      scheduled_at: at(age),
      state: 'succeeded',
      attempts: 1,
      first_started_at: at(age),
      last_finished_at: at(age),
      succeeded_at: at(age),
    })),
  );
  rows += await insertRows(
    client,
    'enx_jobs_attempts',
    ledgerAges.map((age) => ({
      job_id: 'appsync-worker',
      tick_id: ledgerTick(age),
      attempt: 1,
      state: 'succeeded',
      started_at: at(age),
      finished_at: at(age),
      duration_ms: 1200,
    })),
  );

  // Unclaimed reports go once past USER_REPORT_UNCLAIMED_MAX_AGE (or the longest code of a
  // user-report realm, when that is longer); claimed ones after USER_REPORT_MAX_AGE.
  const { rows: longest } = await client.query<{ seconds: string | null }>(
    `SELECT MAX(code_duration)::text AS seconds FROM realms
      WHERE deleted_at IS NULL AND (allowed_test_types & $1) != 0`,
    [USER_REPORT_TEST_TYPE],
  );
  const unclaimedMs = Math.max(t.userReportUnclaimedMaxAgeMs, Number(longest[0]?.seconds ?? 0) * 1000);
  rows += await insertRows(client, 'user_reports', [
    ...agesAround(unclaimedMs).map((age, index) => ({
      phone_hash: `demo-unclaimed-${tag}-${index}-${hex(6)}`,
      nonce: hex(16),
      code_claimed: false,
      created_at: at(age),
      updated_at: at(age),
    })),
    ...agesAround(t.userReportMaxAgeMs).map((age, index) => ({
      phone_hash: `demo-claimed-${tag}-${index}-${hex(6)}`,
      nonce: hex(16),
      code_claimed: true,
      created_at: at(age),
      updated_at: at(age),
    })),
  ]);
  return rows;
}

/**
 * Statistics are per day, so their rows cannot cross the threshold minute by minute: each batch
 * (re)inserts the days just past STATS_MAX_AGE (gone again on the next run) and the day just
 * inside it (kept). Days already present are skipped, so only purged days come back.
 */
async function seedStats(client: DbClient, now: Date, t: DemoThresholds, ids: Ids): Promise<number> {
  const statsDays = Math.ceil(t.statsMaxAgeMs / DAY_MS);
  const days = [statsDays + 1, statsDays + 2, statsDays - 1].map((daysAgo) => utcDay(now, daysAgo));
  const realms = ids.realms.slice(0, 2);
  const realm = (index: number) => realms[index % Math.max(1, realms.length)];
  let rows = 0;
  rows += await insertRows(
    client,
    'realm_stats',
    days.flatMap((date) =>
      realms.map((realm_id) => ({ date, realm_id, codes_issued: 12, codes_claimed: 9 })),
    ),
  );
  rows += await insertRows(
    client,
    'authorized_app_stats',
    days.flatMap((date) =>
      ids.apps.map((authorized_app_id) => ({ date, authorized_app_id, codes_issued: 5 })),
    ),
  );
  rows += await insertRows(
    client,
    'user_stats',
    days.flatMap((date) =>
      ids.users.map((user_id, index) => ({ date, user_id, realm_id: realm(index), codes_issued: 3 })),
    ),
  );
  rows += await insertRows(
    client,
    'external_issuer_stats',
    days.flatMap((date) =>
      realms.map((realm_id) => ({ date, realm_id, issuer_id: 'demo-lab-1', codes_issued: 7 })),
    ),
  );
  rows += await insertRows(
    client,
    'sms_error_stats',
    days.flatMap((date) =>
      realms.flatMap((realm_id) =>
        ['30003', '30006'].map((error_code) => ({ date, realm_id, error_code, quantity: 2 })),
      ),
    ),
  );
  // Today's SMS errors for Demo State: past emailer-sms-errors' default threshold (50) with the
  // counted code alone, plus ignored ones that must not matter. Once per UTC day (the key).
  rows += await insertRows(
    client,
    'sms_error_stats',
    realms.slice(0, 1).flatMap((realm_id) => [
      { date: utcDay(now, 0), realm_id, error_code: '30007', quantity: 64 },
      { date: utcDay(now, 0), realm_id, error_code: '30003', quantity: 120 },
    ]),
  );
  rows += await insertRows(
    client,
    'key_server_stats_days',
    days.flatMap((date) =>
      realms.map((realm_id) => ({
        realm_id,
        day: `${date}T00:00:00Z`,
        publish_requests: [0, 4, 6],
        total_teks_published: 140,
      })),
    ),
  );
  // Chaff events count from today's UTC midnight: the days just before the cutoff go, the cutoff
  // day and the day after it stay.
  const chaffDays = Math.ceil(t.realmChaffEventMaxAgeMs / DAY_MS);
  rows += await insertRows(
    client,
    'realm_chaff_events',
    [chaffDays + 1, chaffDays + 2, chaffDays, chaffDays - 1]
      .filter((daysAgo) => daysAgo >= 0)
      .flatMap((daysAgo) => realms.map((realm_id) => ({ realm_id, date: utcDay(now, daysAgo) }))),
  );
  return rows;
}

/** Seeds the base (once per database) and this hour's batch (once per hour). */
export async function seedDemoData(
  db: Db,
  options: { now: Date; thresholds: DemoThresholds },
): Promise<DemoSeed> {
  const { now, thresholds } = options;
  await ensureBatchesTable(db);
  let seeded = 0;
  let base = false;
  if (!(await batchSeeded(db, 'base'))) {
    const active = await db.query('SELECT 1 FROM token_signing_keys WHERE is_active');
    const activeKeyVersion =
      active.rowCount === 0
        ? await keyManagerAt(db, now).createKeyVersion(thresholds.tokenSigningKey)
        : undefined;
    const rows = await seedOnce(db, 'base', now, (client) => seedBase(client, now, activeKeyVersion));
    base = rows !== undefined;
    seeded += rows ?? 0;
  }
  const batch = batchName(now);
  if (await batchSeeded(db, batch)) return { base, rows: seeded };
  const ids = await lookUpIds(db);
  const keys = await createBatchKeys(db, now, thresholds, ids.realms.slice(0, 2));
  const tag = batch.slice('hour-'.length).replace(/[-T]/g, '');
  const rows = await seedOnce(db, batch, now, (client) => seedBatch(client, now, thresholds, ids, keys, tag));
  return rows === undefined ? { base, rows: seeded } : { base, batch, rows: seeded + rows };
}

/**
 * The system certificate-signing key version stats-puller-worker signs with: the key's newest
 * enabled version in the local KMS, created on the first start. Idempotent, so every start of a
 * reused database signs with the same version.
 */
export async function ensureCertificateKeyVersion(db: Db, keyName: string, now: Date): Promise<string> {
  const keys = keyManagerAt(db, now);
  const enabled = (await keys.listKeyVersions(keyName)).filter((version) => version.state === 'ENABLED');
  if (enabled.length > 0) return enabled[enabled.length - 1].name;
  return keys.createKeyVersion(keyName);
}
