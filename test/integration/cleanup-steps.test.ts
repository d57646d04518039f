/**
 * cleanup-worker's 19 steps (enx-jobs.md §3) against a real PostgreSQL, run through runCleanup with
 * a manual clock. Each step gets rows one second inside and one second outside its threshold (one
 * day for `date` columns), and the test asserts exactly which rows went and the counts of every
 * step, so a step touching the wrong rows, or another step's table, shows up.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KeyManager } from '../../functions/ports';
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import { ManualClock } from '../support/manual-clock';
import type { LocalGauges } from '../../functions/ports/gauges';
import { METRICS } from '../../functions/alerts/metrics';
import { StepsFailedError } from '../../functions/core/errors';
import type { Env } from '../../functions/core/config';
import { cleanupConfig } from '../../functions/jobs/cleanup-worker/config';
import { runCleanup } from '../../functions/jobs/cleanup-worker/run';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';
import { TEST_TOKEN_SIGNING_KEY, createHarness, ledgerAttempts } from '../support/harness';
import {
  CLEANUP_STEPS,
  HOUR_MS,
  SECOND_MS,
  cleanupContext,
  column,
  countRows,
  insertRow,
  purgedExactly,
  resetCleanupTables,
  testCleanupConfig,
} from '../support/seed-cleanup';

/** Mid-day on purpose: thresholds measured from now and from midnight differ. */
const NOW = new Date('2026-11-23T12:34:56Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
/** Just older than the threshold (purged) and just younger (kept). */
const older = (ms: number) => ago(ms + SECOND_MS);
const younger = (ms: number) => ago(ms - SECOND_MS);
const LONG_AGO = new Date('2000-01-01T00:00:00Z');

const execFileAsync = promisify(execFile);

/** runCleanup in a child process, printing its offset from UTC and the counts as JSON. */
const RUN_IN_CHILD = `
const { Pool } = require('pg');
const { LocalKeyManager } = require('./functions/adapters/local-key-manager');
const { ManualClock } = require('./test/support/manual-clock');
const { createLogger, SecretRegistry } = require('./functions/core/logger');
const { cleanupWorker } = require('./functions/catalog');
const { cleanupConfig } = require('./functions/jobs/cleanup-worker/config');
const { runCleanup } = require('./functions/jobs/cleanup-worker/run');
(async () => {
  const db = new Pool({ connectionString: process.env.CLEANUP_TEST_DB, max: 2 });
  const clock = new ManualClock(process.env.CLEANUP_TEST_NOW);
  const context = {
    spec: cleanupWorker, db, clock, logger: createLogger({ write: () => undefined }),
    abortSignal: new AbortController().signal, secrets: new SecretRegistry(),
    tick: { id: 'child', scheduledAt: clock.now(), manual: true }, attempt: 1,
    adapters: { keyManager: new LocalKeyManager(db, clock) },
  };
  const config = cleanupConfig.parse({ TOKEN_SIGNING_KEY: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' });
  const result = await runCleanup(context, config);
  await db.end();
  console.log(JSON.stringify({ offsetMinutes: clock.now().getTimezoneOffset(), purged: result.purged }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

let database: TestDatabase;
let clock: ManualClock;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database.drop());
beforeEach(async () => {
  clock = new ManualClock(NOW);
  await resetCleanupTables(database.pool);
});

async function cleanup(env: Env = {}, keyManager?: KeyManager) {
  const { context, logs } = cleanupContext(database.pool, clock, { keyManager });
  const result = (await runCleanup(context, testCleanupConfig(env))) as {
    purged: Record<string, number>;
    destroyedKeyVersions: string[];
  };
  return { result, logs, gauges: context.adapters.gauges as LocalGauges };
}

/** Runs a cleanup that must fail; returns its StepsFailedError. */
async function failingCleanup(env: Env = {}, keyManager?: KeyManager): Promise<StepsFailedError> {
  const error = await cleanup(env, keyManager).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StepsFailedError);
  return error as StepsFailedError;
}

const db = () => database.pool;

describe('cleanup-worker steps', () => {
  it('runs the 19 steps in the original order, then JOB_LEDGER, and reports each count', async () => {
    const { result, logs } = await cleanup();
    expect(Object.keys(result.purged)).toEqual([...CLEANUP_STEPS]);
    expect(result.purged).toEqual(purgedExactly({}));
    const stepsLogged = logs
      .entries()
      .filter((entry) => entry.event === 'purged')
      .map((entry) => entry.step);
    expect(stepsLogged).toEqual([...CLEANUP_STEPS]);
  });

  it('step 1 API_KEYS purges API keys soft-deleted more than AUTHORIZED_APP_MAX_AGE (336h) ago', async () => {
    const age = 336 * HOUR_MS;
    await insertRow(db(), 'authorized_apps', { name: 'old', deleted_at: older(age) });
    await insertRow(db(), 'authorized_apps', { name: 'recent', deleted_at: younger(age) });
    await insertRow(db(), 'authorized_apps', { name: 'live', created_at: LONG_AGO, deleted_at: null });
    const { result } = await cleanup();
    expect(await column(db(), 'authorized_apps', 'name')).toEqual(['live', 'recent']);
    expect(result.purged).toEqual(purgedExactly({ API_KEYS: 1 }));
  });

  it('step 2 VERIFICATION_CODE deletes codes whose both expiries are older than 336h, soft-deleted too', async () => {
    const age = 336 * HOUR_MS;
    // Codes already blank, so step 3 has nothing to do and the counts stay step 2's.
    const code = (name: string, expires: Date, longExpires: Date, deletedAt: Date | null = null) =>
      insertRow(db(), 'verification_codes', {
        realm_id: 1,
        code: '',
        long_code: '',
        issuing_external_id: name,
        expires_at: expires,
        long_expires_at: longExpires,
        deleted_at: deletedAt,
      });
    await code('both-old', older(age), older(age));
    await code('both-old-soft-deleted', older(age), older(age), LONG_AGO);
    await code('long-recent', older(age), younger(age));
    await code('short-recent', younger(age), older(age));
    await code('both-recent', younger(age), younger(age));
    const { result } = await cleanup();
    expect(await column(db(), 'verification_codes', 'issuing_external_id')).toEqual([
      'both-recent',
      'long-recent',
      'short-recent',
    ]);
    expect(result.purged).toEqual(purgedExactly({ VERIFICATION_CODE: 2 }));
  });

  it('step 3 VERIFICATION_CODE_RECYCLE blanks live codes past 48h, keeping uuid, claimed and updated_at', async () => {
    const age = 48 * HOUR_MS;
    const updatedAt = new Date('2026-01-02T03:04:05Z');
    const code = (name: string, fields: Record<string, unknown>) =>
      insertRow(db(), 'verification_codes', {
        realm_id: 1,
        issuing_external_id: name,
        uuid: null,
        claimed: true,
        code: `code-${name}`,
        long_code: `long-${name}`,
        updated_at: updatedAt,
        expires_at: older(age),
        long_expires_at: older(age),
        ...fields,
      });
    await code('a-old', { uuid: '11111111-1111-4111-8111-111111111111' });
    await code('b-long-recent', { long_expires_at: younger(age) });
    await code('c-short-recent', { expires_at: younger(age) });
    await code('d-soft-deleted', { deleted_at: LONG_AGO });
    await code('e-already-blank', { code: '', long_code: '' });
    await code('f-long-code-left', { code: '' });
    const { result } = await cleanup();

    const { rows } = await db().query(
      `SELECT issuing_external_id AS name, code, long_code, uuid::text, claimed, updated_at
         FROM verification_codes ORDER BY issuing_external_id`,
    );
    expect(rows).toEqual([
      {
        name: 'a-old',
        code: '',
        long_code: '',
        uuid: '11111111-1111-4111-8111-111111111111',
        claimed: true,
        updated_at: updatedAt,
      },
      {
        name: 'b-long-recent',
        code: 'code-b-long-recent',
        long_code: 'long-b-long-recent',
        uuid: null,
        claimed: true,
        updated_at: updatedAt,
      },
      {
        name: 'c-short-recent',
        code: 'code-c-short-recent',
        long_code: 'long-c-short-recent',
        uuid: null,
        claimed: true,
        updated_at: updatedAt,
      },
      {
        name: 'd-soft-deleted',
        code: 'code-d-soft-deleted',
        long_code: 'long-d-soft-deleted',
        uuid: null,
        claimed: true,
        updated_at: updatedAt,
      },
      { name: 'e-already-blank', code: '', long_code: '', uuid: null, claimed: true, updated_at: updatedAt },
      { name: 'f-long-code-left', code: '', long_code: '', uuid: null, claimed: true, updated_at: updatedAt },
    ]);
    expect(result.purged).toEqual(purgedExactly({ VERIFICATION_CODE_RECYCLE: 2 }));
  });

  it('step 4 VERIFICATION_TOKEN deletes tokens expired more than 24h ago, soft-deleted too', async () => {
    const age = 24 * HOUR_MS;
    await insertRow(db(), 'tokens', { token_id: 'old', expires_at: older(age) });
    await insertRow(db(), 'tokens', {
      token_id: 'old-soft-deleted',
      expires_at: older(age),
      deleted_at: LONG_AGO,
    });
    await insertRow(db(), 'tokens', { token_id: 'recent', expires_at: younger(age) });
    const { result } = await cleanup();
    expect(await column(db(), 'tokens', 'token_id')).toEqual(['recent']);
    expect(result.purged).toEqual(purgedExactly({ VERIFICATION_TOKEN: 2 }));
  });

  it("writes the rows removed per step as the run's cleanup_rows metric, zeros included", async () => {
    await insertRow(db(), 'tokens', { token_id: 'old', expires_at: older(24 * HOUR_MS) });
    const { result, gauges } = await cleanup();
    const written = Object.fromEntries(
      CLEANUP_STEPS.map((step) => [step, gauges.get(METRICS.cleanupRows.type, 'cleanup-worker', { step })]),
    );
    expect(written).toEqual(result.purged);
    expect(written.VERIFICATION_TOKEN).toBe(1);
  });

  it('step 5 MEMBERSHIP deletes only memberships with permissions = 0', async () => {
    for (const id of [1, 2]) await insertRow(db(), 'realms', { id, name: `realm-${id}` });
    for (const id of [1, 2]) {
      await insertRow(db(), 'users', { id, email: `u${id}@example.com`, created_at: NOW, updated_at: NOW });
    }
    await insertRow(db(), 'memberships', { realm_id: 1, user_id: 1, permissions: 0 });
    await insertRow(db(), 'memberships', { realm_id: 1, user_id: 2, permissions: 1 });
    await insertRow(db(), 'memberships', { realm_id: 2, user_id: 1, permissions: 5 });
    const { result } = await cleanup();
    expect(await column(db(), 'memberships', `realm_id || '/' || user_id`)).toEqual(['1/2', '2/1']);
    expect(result.purged).toEqual(purgedExactly({ MEMBERSHIP: 1 }));
  });

  it('step 6 MOBILE_APP purges mobile apps soft-deleted more than 168h ago', async () => {
    const age = 168 * HOUR_MS;
    await insertRow(db(), 'mobile_apps', { name: 'old', os: 1, deleted_at: older(age) });
    await insertRow(db(), 'mobile_apps', { name: 'recent', os: 1, deleted_at: younger(age) });
    await insertRow(db(), 'mobile_apps', { name: 'live', os: 1, created_at: LONG_AGO });
    const { result } = await cleanup();
    expect(await column(db(), 'mobile_apps', 'name')).toEqual(['live', 'recent']);
    expect(result.purged).toEqual(purgedExactly({ MOBILE_APP: 1 }));
  });

  it('step 7 AUDIT_ENTRY deletes audit entries created more than 720h ago', async () => {
    const age = 720 * HOUR_MS;
    const entry = (action: string, createdAt: Date) =>
      insertRow(db(), 'audit_entries', {
        realm_id: 0,
        actor_id: 'system:1',
        actor_display: 'System',
        action,
        target_id: 't',
        target_display: 't',
        created_at: createdAt,
      });
    await entry('old', older(age));
    await entry('recent', younger(age));
    const { result } = await cleanup();
    expect(await column(db(), 'audit_entries', 'action')).toEqual(['recent']);
    expect(result.purged).toEqual(purgedExactly({ AUDIT_ENTRY: 1 }));
  });

  it('step 8 USER deletes old non-admin users without memberships, after step 5 ran', async () => {
    const age = 720 * HOUR_MS;
    await insertRow(db(), 'realms', { id: 1, name: 'realm-1' });
    const user = (id: number, email: string, fields: Record<string, unknown> = {}) =>
      insertRow(db(), 'users', {
        id,
        email,
        system_admin: false,
        created_at: older(age),
        updated_at: older(age),
        ...fields,
      });
    await user(1, 'old@example.com');
    await user(2, 'admin@example.com', { system_admin: true });
    await user(3, 'member@example.com');
    await user(4, 'recently-updated@example.com', { updated_at: younger(age) });
    await user(5, 'recently-created@example.com', { created_at: younger(age) });
    await user(6, 'orphan-membership@example.com');
    await insertRow(db(), 'memberships', { realm_id: 1, user_id: 3, permissions: 1 });
    // Permissions 0: step 5 deletes the membership, so the user has no realm by step 8.
    await insertRow(db(), 'memberships', { realm_id: 1, user_id: 6, permissions: 0 });
    const { result } = await cleanup();
    expect(await column(db(), 'users', 'email')).toEqual([
      'admin@example.com',
      'member@example.com',
      'recently-created@example.com',
      'recently-updated@example.com',
    ]);
    expect(result.purged).toEqual(purgedExactly({ MEMBERSHIP: 1, USER: 2 }));
  });

  it('step 10 VERIFICATION_SIGNING_KEY purges realm keys soft-deleted more than 36h ago', async () => {
    const age = 36 * HOUR_MS;
    await insertRow(db(), 'signing_keys', { realm_id: 1, key_id: 'old', deleted_at: older(age) });
    await insertRow(db(), 'signing_keys', { realm_id: 1, key_id: 'recent', deleted_at: younger(age) });
    await insertRow(db(), 'signing_keys', {
      realm_id: 1,
      key_id: 'live',
      active: true,
      created_at: LONG_AGO,
    });
    const { result } = await cleanup();
    expect(await column(db(), 'signing_keys', 'key_id')).toEqual(['live', 'recent']);
    expect(result.purged).toEqual(purgedExactly({ VERIFICATION_SIGNING_KEY: 1 }));
  });

  it('step 11 KEY_SERVER_STATS deletes key_server_stats_days whose day is more than STATS_MAX_AGE old', async () => {
    const age = 2184 * HOUR_MS;
    await insertRow(db(), 'key_server_stats_days', { realm_id: 1, day: older(age) });
    await insertRow(db(), 'key_server_stats_days', { realm_id: 1, day: younger(age) });
    const { result } = await cleanup();
    expect(await column(db(), 'key_server_stats_days', '(extract(epoch FROM day) * 1000)::bigint')).toEqual([
      String(younger(age).getTime()),
    ]);
    expect(result.purged).toEqual(purgedExactly({ KEY_SERVER_STATS: 1 }));
  });

  // STATS_MAX_AGE 2184h = 91 days before 2026-11-23T12:34:56Z is 2026-08-24T12:34:56Z. A day's row
  // goes once the threshold is past that whole UTC day: 08-23 goes, 08-24 stays.
  const STATS_TABLES: [step: string, table: string, row: (date: string) => Record<string, unknown>][] = [
    ['AUTHORIZED_APP_STATS', 'authorized_app_stats', (date) => ({ date, authorized_app_id: 1 })],
    [
      'EXTERNAL_ISSUER_STATS',
      'external_issuer_stats',
      (date) => ({ date, realm_id: 1, issuer_id: 'i', codes_issued: 1 }),
    ],
    [
      'SMS_ERROR_STATS',
      'sms_error_stats',
      (date) => ({ date, realm_id: 1, error_code: '30003', quantity: 1 }),
    ],
    ['REALM_STATS', 'realm_stats', (date) => ({ date, realm_id: 1 })],
    ['USER_STATS', 'user_stats', (date) => ({ date, realm_id: 1, user_id: 1 })],
  ];

  it.each(STATS_TABLES)(
    'step %s deletes %s rows dated before the UTC day STATS_MAX_AGE ago',
    async (step, table, row) => {
      expect(ago(2184 * HOUR_MS).toISOString()).toBe('2026-08-24T12:34:56.000Z');
      await insertRow(db(), 'realms', { id: 1, name: 'realm-1' });
      for (const date of ['2026-01-01', '2026-08-23', '2026-08-24', '2026-11-23']) {
        await insertRow(db(), table, row(date));
      }
      const { result } = await cleanup();
      expect(await column(db(), table, 'date')).toEqual(['2026-08-24', '2026-11-23']);
      expect(result.purged).toEqual(purgedExactly({ [step]: 2 }));
    },
  );

  it('stats steps honour a configured STATS_MAX_AGE', async () => {
    // 720h before NOW is 2026-10-24T12:34:56Z.
    await insertRow(db(), 'realm_stats', { date: '2026-10-23', realm_id: 1 });
    await insertRow(db(), 'realm_stats', { date: '2026-10-24', realm_id: 1 });
    await insertRow(db(), 'key_server_stats_days', { realm_id: 1, day: older(720 * HOUR_MS) });
    await insertRow(db(), 'key_server_stats_days', { realm_id: 1, day: younger(720 * HOUR_MS) });
    const { result } = await cleanup({ STATS_MAX_AGE: '720h' });
    expect(await column(db(), 'realm_stats', 'date')).toEqual(['2026-10-24']);
    expect(result.purged).toEqual(purgedExactly({ REALM_STATS: 1, KEY_SERVER_STATS: 1 }));
  });

  describe('step 16 REALM_CHAFF_EVENT', () => {
    beforeEach(async () => {
      await insertRow(db(), 'realms', { id: 1, name: 'realm-1' });
      for (const date of ['2026-11-14', '2026-11-15', '2026-11-16', '2026-11-17', '2026-11-23']) {
        await insertRow(db(), 'realm_chaff_events', { realm_id: 1, date });
      }
    });

    it("deletes events dated before today's UTC midnight minus REALM_CHAFF_EVENT_MAX_AGE (168h)", async () => {
      // Midnight 2026-11-23 minus 7 days is 2026-11-16: earlier days go.
      const { result } = await cleanup();
      expect(await column(db(), 'realm_chaff_events', 'date')).toEqual([
        '2026-11-16',
        '2026-11-17',
        '2026-11-23',
      ]);
      expect(result.purged).toEqual(purgedExactly({ REALM_CHAFF_EVENT: 2 }));
    });

    it('counts from midnight, not from now: the threshold moves only when the UTC day changes', async () => {
      // One second before midnight: 168h before *now* would be 2026-11-16T23:59:59, past the whole
      // of 11-16 but for a second; counted from midnight, 11-16 still stays.
      clock.set('2026-11-23T23:59:59Z');
      expect((await cleanup()).result.purged.REALM_CHAFF_EVENT).toBe(2);
      expect(await column(db(), 'realm_chaff_events', 'date')).toEqual([
        '2026-11-16',
        '2026-11-17',
        '2026-11-23',
      ]);

      clock.set('2026-11-24T00:00:00Z');
      expect((await cleanup()).result.purged.REALM_CHAFF_EVENT).toBe(1);
      expect(await column(db(), 'realm_chaff_events', 'date')).toEqual(['2026-11-17', '2026-11-23']);
    });

    it('honours a configured REALM_CHAFF_EVENT_MAX_AGE', async () => {
      const { result } = await cleanup({ REALM_CHAFF_EVENT_MAX_AGE: '24h' });
      expect(await column(db(), 'realm_chaff_events', 'date')).toEqual(['2026-11-23']);
      expect(result.purged).toEqual(purgedExactly({ REALM_CHAFF_EVENT: 4 }));
    });
  });

  // The job's process, not the database, decides how node-pg writes a Date parameter (local time),
  // and jest sandboxes process.env, so the job runs in a child process with TZ set.
  it.each(['Pacific/Kiritimati', 'America/Los_Angeles'])(
    'purges the same UTC days when the job process runs in time zone %s',
    async (zone) => {
      await insertRow(db(), 'realms', { id: 1, name: 'realm-1' });
      for (const date of ['2026-08-23', '2026-08-24', '2026-08-25']) {
        await insertRow(db(), 'realm_stats', { date, realm_id: 1 });
      }
      for (const date of ['2026-11-14', '2026-11-15', '2026-11-16']) {
        await insertRow(db(), 'realm_chaff_events', { realm_id: 1, date });
      }
      const { stdout } = await execFileAsync(process.execPath, ['--require', 'tsx/cjs', '-e', RUN_IN_CHILD], {
        cwd: path.join(__dirname, '..', '..'),
        env: { ...process.env, TZ: zone, CLEANUP_TEST_DB: database.url, CLEANUP_TEST_NOW: NOW.toISOString() },
      });
      const child = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
        offsetMinutes: number;
        purged: Record<string, number>;
      };
      expect(child.offsetMinutes).not.toBe(0);
      expect(await column(db(), 'realm_stats', 'date')).toEqual(['2026-08-24', '2026-08-25']);
      expect(await column(db(), 'realm_chaff_events', 'date')).toEqual(['2026-11-16']);
      expect(child.purged).toEqual(purgedExactly({ REALM_STATS: 1, REALM_CHAFF_EVENT: 2 }));
    },
    60_000,
  );

  describe('user reports', () => {
    const report = (name: string, createdAt: Date, claimed: boolean) =>
      insertRow(db(), 'user_reports', {
        phone_hash: name,
        nonce: 'n',
        code_claimed: claimed,
        created_at: createdAt,
      });
    const realm = (
      id: number,
      allowedTestTypes: number,
      codeDurationSeconds: number,
      deletedAt: Date | null = null,
    ) =>
      insertRow(db(), 'realms', {
        id,
        name: `realm-${id}`,
        allowed_test_types: allowedTestTypes,
        code_duration: codeDurationSeconds,
        deleted_at: deletedAt,
      });
    const warnings = (logs: { entries(): Record<string, unknown>[] }) =>
      logs
        .entries()
        .filter((entry) => entry.severity === 'WARNING' && entry.step === 'UNCLAIMED_USER_REPORTS');

    it('step 17 deletes unclaimed reports older than USER_REPORT_UNCLAIMED_MAX_AGE (60m), not claimed ones', async () => {
      const age = 60 * 60 * SECOND_MS;
      await report('unclaimed-old', older(age), false);
      await report('unclaimed-recent', younger(age), false);
      await report('claimed-old', older(age), true);
      const { result, logs } = await cleanup();
      expect(await column(db(), 'user_reports', 'phone_hash')).toEqual(['claimed-old', 'unclaimed-recent']);
      expect(result.purged).toEqual(purgedExactly({ UNCLAIMED_USER_REPORTS: 1 }));
      expect(warnings(logs)).toEqual([]);
    });

    it('step 17 ignores realms without the user-report bit (allowed_test_types = 14) and deleted realms', async () => {
      await realm(1, 14, 10 * 3600);
      await realm(2, 30, 10 * 3600, LONG_AGO);
      await report('unclaimed-old', older(HOUR_MS), false);
      await report('unclaimed-recent', younger(HOUR_MS), false);
      const { result, logs } = await cleanup();
      expect(await column(db(), 'user_reports', 'phone_hash')).toEqual(['unclaimed-recent']);
      expect(result.purged).toEqual(purgedExactly({ UNCLAIMED_USER_REPORTS: 1 }));
      expect(warnings(logs)).toEqual([]);
    });

    it('step 17 keeps unclaimed reports as long as the longest code of a user-report realm, and warns', async () => {
      await realm(1, 14, 10 * 3600);
      await realm(2, 30, 2 * 3600); // user-report bit set: 2h codes
      await realm(3, 16, 3 * 3600); // only the user-report bit: 3h codes, the floor
      await report('past-60m', older(HOUR_MS), false);
      await report('within-3h', younger(3 * HOUR_MS), false);
      await report('past-3h', older(3 * HOUR_MS), false);
      const { result, logs } = await cleanup();
      expect(await column(db(), 'user_reports', 'phone_hash')).toEqual(['past-60m', 'within-3h']);
      expect(result.purged).toEqual(purgedExactly({ UNCLAIMED_USER_REPORTS: 1 }));
      expect(warnings(logs)).toEqual([
        expect.objectContaining({ configuredMs: HOUR_MS, realmCodeDurationMs: 3 * HOUR_MS }),
      ]);
    });

    it('step 17 uses a configured USER_REPORT_UNCLAIMED_MAX_AGE when it is longer than any realm code', async () => {
      await realm(1, 30, 2 * 3600);
      await report('within-4h', younger(4 * HOUR_MS), false);
      await report('past-4h', older(4 * HOUR_MS), false);
      const { result, logs } = await cleanup({ USER_REPORT_UNCLAIMED_MAX_AGE: '4h' });
      expect(await column(db(), 'user_reports', 'phone_hash')).toEqual(['within-4h']);
      expect(result.purged).toEqual(purgedExactly({ UNCLAIMED_USER_REPORTS: 1 }));
      expect(warnings(logs)).toEqual([]);
    });

    it('step 19 CLAIMED_USER_REPORTS deletes claimed and unclaimed reports older than USER_REPORT_MAX_AGE', async () => {
      const age = 720 * HOUR_MS;
      // A realm whose codes live 1000h keeps step 17 off the unclaimed reports, so step 19 is seen.
      await realm(1, 30, 1000 * 3600);
      await report('claimed-old', older(age), true);
      await report('unclaimed-old', older(age), false);
      await report('claimed-recent', younger(age), true);
      await report('unclaimed-recent', younger(age), false);
      const { result } = await cleanup();
      expect(await column(db(), 'user_reports', 'phone_hash')).toEqual([
        'claimed-recent',
        'unclaimed-recent',
      ]);
      expect(result.purged).toEqual(purgedExactly({ CLAIMED_USER_REPORTS: 2 }));
    });
  });

  it('step 20 JOB_LEDGER deletes finished run records older than JOB_LEDGER_MAX_AGE (720h), never running ones', async () => {
    const age = 720 * HOUR_MS;
    const attempt = (tick: string, state: string, startedAt: Date) =>
      insertRow(db(), 'enx_jobs_attempts', {
        job_id: 'appsync-worker',
        tick_id: tick,
        attempt: 1,
        state,
        started_at: startedAt,
      });
    const tick = (id: string, state: string, startedAt: Date) =>
      insertRow(db(), 'enx_jobs_ticks', {
        job_id: 'appsync-worker',
        tick_id: id,
        scheduled_at: startedAt,
        state,
        first_started_at: startedAt,
      });
    await tick('old', 'succeeded', older(age));
    await attempt('old', 'succeeded', older(age));
    await tick('hung', 'running', older(age));
    await attempt('hung', 'running', older(age));
    await tick('recent', 'failed', younger(age));
    await attempt('recent', 'failed', younger(age));
    const { result } = await cleanup();
    const left = await db().query(
      "SELECT tick_id FROM enx_jobs_ticks WHERE job_id = 'appsync-worker' ORDER BY tick_id",
    );
    expect(left.rows.map((row) => row.tick_id)).toEqual(['hung', 'recent']);
    const attempts = await db().query(
      "SELECT tick_id FROM enx_jobs_attempts WHERE job_id = 'appsync-worker' ORDER BY tick_id",
    );
    expect(attempts.rows.map((row) => row.tick_id)).toEqual(['hung', 'recent']);
    expect(result.purged).toEqual(purgedExactly({ JOB_LEDGER: 2 }));
  });

  it('refuses a JOB_LEDGER_MAX_AGE shorter than a week', () => {
    expect(() =>
      cleanupConfig.parse({ TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY, JOB_LEDGER_MAX_AGE: '24h' }),
    ).toThrow(/JOB_LEDGER_MAX_AGE/);
  });

  it('purges everything in batches when CLEANUP_BATCH_SIZE is small', async () => {
    await db().query(
      `INSERT INTO audit_entries (realm_id, actor_id, actor_display, action, target_id, target_display, created_at)
       SELECT 0, 'a', 'a', 'old', 't', 't', $1 FROM generate_series(1, 300)`,
      [LONG_AGO],
    );
    await db().query(
      `INSERT INTO realm_stats (date, realm_id) SELECT '2026-01-01', g FROM generate_series(1, 250) g`,
    );
    await db().query(
      `INSERT INTO verification_codes (realm_id, code, long_code, expires_at, long_expires_at)
       SELECT 1, 'c' || g, 'l' || g, $1, $1 FROM generate_series(1, 100) g`,
      [older(48 * HOUR_MS)],
    );
    const { result } = await cleanup({ CLEANUP_BATCH_SIZE: '7' });
    expect(result.purged).toEqual(
      purgedExactly({ AUDIT_ENTRY: 300, REALM_STATS: 250, VERIFICATION_CODE_RECYCLE: 100 }),
    );
    expect(await countRows(db(), 'audit_entries')).toBe(0);
    expect(await countRows(db(), 'realm_stats')).toBe(0);
    expect(await countRows(db(), 'verification_codes', "code != '' OR long_code != ''")).toBe(0);
  });
});

describe('step 9 TOKEN_SIGNING_KEY', () => {
  const age = 36 * HOUR_MS;
  let keys: LocalKeyManager;
  beforeEach(() => {
    keys = new LocalKeyManager(db(), clock);
  });

  const keyRow = (version: string, updatedAt: Date, active = false) =>
    insertRow(db(), 'token_signing_keys', {
      key_version_id: version,
      is_active: active,
      created_at: LONG_AGO,
      updated_at: updatedAt,
    });
  const states = async (key = TEST_TOKEN_SIGNING_KEY) =>
    Object.fromEntries((await keys.listKeyVersions(key)).map((version) => [version.name, version.state]));

  it('destroys versions rotated out more than 36h ago and deletes their rows; keeps the rest', async () => {
    const [old, recent, active, alreadyDestroyed] = [
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
    ];
    await keys.destroyKeyVersion(alreadyDestroyed);
    await keyRow(old, older(age));
    await keyRow(recent, younger(age));
    await keyRow(active, older(100 * HOUR_MS), true);
    await keyRow(alreadyDestroyed, older(age));

    const { result } = await cleanup();
    expect(await states()).toEqual({
      [old]: 'DESTROYED',
      [recent]: 'ENABLED',
      [active]: 'ENABLED',
      [alreadyDestroyed]: 'DESTROYED',
    });
    expect(await column(db(), 'token_signing_keys', 'key_version_id')).toEqual([recent, active].sort());
    expect(result.purged).toEqual(purgedExactly({ TOKEN_SIGNING_KEY: 2 }));
    expect(result.destroyedKeyVersions).toEqual([old, alreadyDestroyed]);
  });

  it('is idempotent: a second run finds nothing more to do', async () => {
    const old = await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY);
    await keyRow(old, older(age));
    expect((await cleanup()).result.purged.TOKEN_SIGNING_KEY).toBe(1);
    expect((await cleanup()).result.purged.TOKEN_SIGNING_KEY).toBe(0);
    expect(await states()).toEqual({ [old]: 'DESTROYED' });
  });

  it('treats a version missing from the key manager as done and deletes its row', async () => {
    const missing = `${TEST_TOKEN_SIGNING_KEY}/cryptoKeyVersions/42`;
    await keyRow(missing, older(age));
    const { result, logs } = await cleanup();
    expect(await column(db(), 'token_signing_keys', 'key_version_id')).toEqual([]);
    expect(result.purged.TOKEN_SIGNING_KEY).toBe(1);
    expect(logs.entries().some((entry) => entry.severity === 'WARNING' && entry.keyVersion === missing)).toBe(
      true,
    );
  });

  it.each([
    [
      'a version of another key',
      'projects/enx-test-project/locations/local/keyRings/tokens/cryptoKeys/other-signer',
    ],
    ['a version of a key whose name extends TOKEN_SIGNING_KEY', `${TEST_TOKEN_SIGNING_KEY}-2`],
  ])('refuses %s, reports it, and still purges the others', async (_case, otherKey) => {
    const foreign = await keys.createKeyVersion(otherKey);
    const old = await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY);
    await keyRow(foreign, older(age));
    await keyRow(old, older(age));

    const error = await failingCleanup();
    expect(error.failures.map((failure) => failure.step)).toEqual(['TOKEN_SIGNING_KEY']);
    expect(error.failures[0].error).toContain(foreign);
    expect(error.failures[0].error).toMatch(/not a version of TOKEN_SIGNING_KEY/);
    expect(await states(otherKey)).toEqual({ [foreign]: 'ENABLED' });
    expect(await states()).toEqual({ [old]: 'DESTROYED' });
    expect(await column(db(), 'token_signing_keys', 'key_version_id')).toEqual([foreign]);
    expect(error.partial).toMatchObject({ destroyedKeyVersions: [old] });
  });

  it('refuses a row naming a path below a version of TOKEN_SIGNING_KEY', async () => {
    await keyRow(`${TEST_TOKEN_SIGNING_KEY}/cryptoKeyVersions/1/extra`, older(age));
    const error = await failingCleanup();
    expect(error.failures[0].error).toMatch(/not a version of TOKEN_SIGNING_KEY/);
    expect(await countRows(db(), 'token_signing_keys')).toBe(1);
  });

  it('on a partial failure destroys and deletes the others, fails the step, and lists what it destroyed', async () => {
    const [first, flaky, last] = [
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
      await keys.createKeyVersion(TEST_TOKEN_SIGNING_KEY),
    ];
    for (const version of [first, flaky, last]) await keyRow(version, older(age));
    const failing: KeyManager = {
      createSigningKey: (ring, id) => keys.createSigningKey(ring, id),
      createKeyVersion: (key) => keys.createKeyVersion(key),
      getPublicKeyPem: (version) => keys.getPublicKeyPem(version),
      signDigest: (version, digest) => keys.signDigest(version, digest),
      listKeyVersions: (key) => keys.listKeyVersions(key),
      destroyKeyVersion: async (version) => {
        if (version === flaky) throw new Error('KMS is unavailable (simulated)');
        return keys.destroyKeyVersion(version);
      },
    };

    const error = await failingCleanup({}, failing);
    expect(error.failures).toHaveLength(1);
    const message = error.failures[0].error;
    expect(error.failures[0].step).toBe('TOKEN_SIGNING_KEY');
    expect(message).toContain('KMS is unavailable (simulated)');
    expect(message).toContain(flaky);
    expect(message).toContain(`2 destroyed: ${first}, ${last}`);
    expect(await states()).toEqual({ [first]: 'DESTROYED', [flaky]: 'ENABLED', [last]: 'DESTROYED' });
    expect(await column(db(), 'token_signing_keys', 'key_version_id')).toEqual([flaky]);
    // The other 18 steps ran and the partial result says which versions are gone.
    expect(error.partial).toMatchObject({
      purged: Object.fromEntries(
        CLEANUP_STEPS.filter((step) => step !== 'TOKEN_SIGNING_KEY').map((step) => [step, 0]),
      ),
      destroyedKeyVersions: [first, last],
    });
    expect(Object.keys(error.partial.purged as object)).not.toContain('TOKEN_SIGNING_KEY');

    // The next run, with KMS back, finishes the job.
    const { result } = await cleanup();
    expect(result.purged.TOKEN_SIGNING_KEY).toBe(1);
    expect(await states()).toEqual({ [first]: 'DESTROYED', [flaky]: 'DESTROYED', [last]: 'DESTROYED' });
    expect(await countRows(db(), 'token_signing_keys')).toBe(0);
  });
});

describe('step independence', () => {
  /** One row for each of steps 1 (first), 7 (before the broken one) and 19 (last). */
  async function seedAroundTheBrokenStep(pool: TestDatabase['pool']) {
    await insertRow(pool, 'authorized_apps', { name: 'old', deleted_at: LONG_AGO });
    await insertRow(pool, 'audit_entries', {
      realm_id: 0,
      actor_id: 'a',
      actor_display: 'a',
      action: 'old',
      target_id: 't',
      target_display: 't',
      created_at: LONG_AGO,
    });
    await insertRow(pool, 'user_reports', {
      phone_hash: 'old',
      nonce: 'n',
      code_claimed: true,
      created_at: LONG_AGO,
    });
  }

  it('runs the other 18 steps when one fails, then fails naming it, with their counts as partial', async () => {
    const own = await createTestDatabase();
    try {
      await seedAroundTheBrokenStep(own.pool);
      await own.pool.query('DROP TABLE realm_chaff_events');
      const { context, logs } = cleanupContext(own.pool, clock);
      const error = await runCleanup(context, testCleanupConfig()).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(StepsFailedError);
      const failure = error as StepsFailedError;
      expect(failure.failures).toEqual([
        { step: 'REALM_CHAFF_EVENT', error: expect.stringMatching(/realm_chaff_events/) },
      ]);
      expect(failure.message).toContain('REALM_CHAFF_EVENT');
      expect((failure.partial as { purged: Record<string, number> }).purged).toEqual(
        Object.fromEntries(
          CLEANUP_STEPS.filter((step) => step !== 'REALM_CHAFF_EVENT').map((step) => [
            step,
            step === 'API_KEYS' || step === 'AUDIT_ENTRY' || step === 'CLAIMED_USER_REPORTS' ? 1 : 0,
          ]),
        ),
      );
      for (const table of ['authorized_apps', 'audit_entries', 'user_reports']) {
        expect(await countRows(own.pool, table)).toBe(0);
      }
      expect(logs.entries().filter((entry) => entry.event === 'step_failed')).toEqual([
        expect.objectContaining({ severity: 'ERROR', step: 'REALM_CHAFF_EVENT' }),
      ]);
    } finally {
      await own.drop();
    }
  });

  it('over HTTP answers 500 naming the failed step, and the ledger keeps the error and the partial result', async () => {
    const harness = await createHarness();
    try {
      await seedAroundTheBrokenStep(harness.db.pool);
      await harness.db.pool.query('ALTER TABLE memberships RENAME COLUMN permissions TO perms');
      const res = await harness.invoke('cleanup-worker', { scheduleTime: '2026-11-23T12:35:00Z' });
      expect(res.status).toBe(500);
      expect(res.body.status).toBe('failed');
      expect(res.body.errors).toEqual([expect.stringMatching(/^MEMBERSHIP: .*permissions/)]);
      expect(res.body.result.purged).toMatchObject({ API_KEYS: 1, AUDIT_ENTRY: 1, CLAIMED_USER_REPORTS: 1 });
      expect(Object.keys(res.body.result.purged)).toHaveLength(CLEANUP_STEPS.length - 1);
      expect(res.body.result.purged).not.toHaveProperty('MEMBERSHIP');

      const attempts = await ledgerAttempts(harness.db, 'cleanup-worker');
      expect(attempts).toHaveLength(1);
      expect(attempts[0].state).toBe('failed');
      expect(attempts[0].error).toMatch(/^MEMBERSHIP: .*permissions/);
      expect(attempts[0].result).toMatchObject({
        purged: { API_KEYS: 1, AUDIT_ENTRY: 1, USER: 0, CLAIMED_USER_REPORTS: 1 },
      });
      expect((attempts[0].result as { purged: object }).purged).not.toHaveProperty('MEMBERSHIP');
    } finally {
      await harness.close();
    }
  });
});
