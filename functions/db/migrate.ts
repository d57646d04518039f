/**
 * A migration runner no bigger than it must be: numbered .sql files applied in order, each once,
 * all inside one transaction under an advisory lock, so two instances starting together never
 * race and a failed migration leaves nothing half-applied.
 *
 * The files live next to this module; the build copies them next to the bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../core/db';
import { withTransaction } from '../core/db';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Any fixed number works; this one spells "enx-jobs" closely enough to be recognisable in pg_locks. */
const MIGRATION_LOCK_KEY = 0x656e786a;

export interface Migration {
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ name: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

/** Applies the migrations not yet applied; returns their names. */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<string[]> {
  return withTransaction(db, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS enx_jobs_schema_migrations (
         name text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ name: string }>('SELECT name FROM enx_jobs_schema_migrations');
    const applied = new Set(rows.map((row) => row.name));
    const pending = migrations.filter((migration) => !applied.has(migration.name));
    for (const migration of pending) {
      try {
        await client.query(migration.sql);
      } catch (error) {
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      await client.query('INSERT INTO enx_jobs_schema_migrations (name) VALUES ($1)', [migration.name]);
    }
    return pending.map((migration) => migration.name);
  });
}
