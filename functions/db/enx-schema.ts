/**
 * The verification server's (ENX's) tables the jobs read or write. ENX creates them with its own
 * migrations (pkg/database/migrations.go in google/exposure-notifications-verification-server);
 * ours only ever run on top of them. Locally, local/migrations/0001_enx_schema.sql stands in for
 * them, and a test keeps that file and this list in step.
 */
import type { Db } from '../core/db';

export const ENX_TABLES = [
  'audit_entries',
  'authorized_app_stats',
  'authorized_apps',
  'dynamic_translations',
  'external_issuer_stats',
  'key_server_stats',
  'key_server_stats_days',
  'memberships',
  'mobile_apps',
  'realm_chaff_events',
  'realm_stats',
  'realms',
  'secrets',
  'signing_keys',
  'sms_error_stats',
  'token_signing_keys',
  'tokens',
  'user_reports',
  'user_stats',
  'users',
  'verification_codes',
] as const;

/** The ENX tables the database lacks (all of them for an empty database). */
export async function missingEnxTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [ENX_TABLES],
  );
  const present = new Set(rows.map((row) => row.table_name));
  return ENX_TABLES.filter((table) => !present.has(table));
}
