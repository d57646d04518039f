/**
 * Small helpers for the cleanup-worker tests: a JobContext around a test database and a manual
 * clock, explicit INSERTs, and reading back what survived. Kept deliberately thin: each test spells
 * out its own rows and timestamps so the thresholds under test are visible where they are asserted.
 */
import { onlyAdapters } from './only-adapters';
import { cleanupWorker } from '../../functions/catalog';
import type { KeyManager, SecretStore } from '../../functions/ports';
import { LocalGauges } from '../../functions/ports/gauges';
import { LocalKeyManager } from '../../functions/adapters/local-key-manager';
import type { Clock } from '../../functions/core/clock';
import type { Env } from '../../functions/core/config';
import type { Db } from '../../functions/core/db';
import type { JobContext } from '../../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../../functions/core/logger';
import { memoryWriter } from './memory-writer';
import { cleanupConfig } from '../../functions/jobs/cleanup-worker/config';
import type { CleanupConfig } from '../../functions/jobs/cleanup-worker/config';
import { TEST_TOKEN_SIGNING_KEY } from './harness';

export const SECOND_MS = 1000;
export const HOUR_MS = 3600 * SECOND_MS;

/** The 19 item tags, in the order enx-jobs.md §3 runs them. */
export const CLEANUP_STEPS = [
  'API_KEYS',
  'VERIFICATION_CODE',
  'VERIFICATION_CODE_RECYCLE',
  'VERIFICATION_TOKEN',
  'MEMBERSHIP',
  'MOBILE_APP',
  'AUDIT_ENTRY',
  'USER',
  'TOKEN_SIGNING_KEY',
  'VERIFICATION_SIGNING_KEY',
  'KEY_SERVER_STATS',
  'AUTHORIZED_APP_STATS',
  'EXTERNAL_ISSUER_STATS',
  'SMS_ERROR_STATS',
  'REALM_STATS',
  'REALM_CHAFF_EVENT',
  'UNCLAIMED_USER_REPORTS',
  'USER_STATS',
  'CLAIMED_USER_REPORTS',
  'JOB_LEDGER',
] as const;

export type CleanupStep = (typeof CLEANUP_STEPS)[number];

/** `purged` as a run that removed exactly `counts` (every other step 0) reports it. */
export function purgedExactly(counts: Partial<Record<CleanupStep, number>>): Record<string, number> {
  return Object.fromEntries(CLEANUP_STEPS.map((step) => [step, counts[step] ?? 0]));
}

/** The ENX tables cleanup touches, plus the local key manager's, emptied between tests. */
const TABLES = [
  'authorized_apps',
  'verification_codes',
  'user_reports',
  'tokens',
  'memberships',
  'users',
  'realms',
  'mobile_apps',
  'audit_entries',
  'token_signing_keys',
  'signing_keys',
  'key_server_stats_days',
  'authorized_app_stats',
  'external_issuer_stats',
  'sms_error_stats',
  'realm_stats',
  'realm_chaff_events',
  'user_stats',
  'enx_jobs_local_kms_versions',
  'enx_jobs_local_kms_keys',
];

export async function resetCleanupTables(db: Db): Promise<void> {
  await db.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
}

/** INSERT INTO table (the keys of row) VALUES (its values, as parameters). */
export async function insertRow(db: Db, table: string, row: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(row);
  const placeholders = columns.map((_, index) => `$${index + 1}`);
  await db.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')})`,
    Object.values(row),
  );
}

/** One text column of every row, sorted: which rows survived. */
export async function column(db: Db, table: string, name: string): Promise<string[]> {
  const { rows } = await db.query<{ value: string }>(
    `SELECT ${name}::text AS value FROM ${table} ORDER BY 1`,
  );
  return rows.map((row) => row.value);
}

export async function countRows(db: Db, table: string, where = 'true'): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`);
  return rows[0].n;
}

export function testCleanupConfig(env: Env = {}): CleanupConfig {
  return cleanupConfig.parse({ TOKEN_SIGNING_KEY: TEST_TOKEN_SIGNING_KEY, ...env });
}

export function cleanupContext(
  db: Db,
  clock: Clock,
  options: { keyManager?: KeyManager; secretStore?: SecretStore; signal?: AbortSignal } = {},
): { context: JobContext; logs: ReturnType<typeof memoryWriter> } {
  const logs = memoryWriter();
  const now = clock.now();
  const context: JobContext = {
    db,
    clock,
    logger: createLogger({ write: logs.write, minSeverity: 'DEBUG' }),
    spec: cleanupWorker,
    abortSignal: options.signal ?? new AbortController().signal,
    secrets: new SecretRegistry(),
    tick: { id: now.toISOString(), scheduledAt: now, manual: false },
    attempt: 1,
    adapters: onlyAdapters({
      keyManager: options.keyManager ?? new LocalKeyManager(db, clock),
      gauges: new LocalGauges(),
      ...(options.secretStore ? { secretStore: options.secretStore } : {}),
    }),
  };
  return { context, logs };
}
