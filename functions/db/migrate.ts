/**
 * A migration runner no bigger than it must be: numbered .sql files applied in order, each once,
 * all inside one transaction under an advisory lock, so two instances starting together never
 * race and a failed migration leaves nothing half-applied.
 *
 * These are the production migrations: our own tables and the constraints the jobs rely on. They
 * run against the verification server's (ENX's) database, whose tables they must never alter, so
 * every migration is checked inside the transaction before it is kept: a migration that changes,
 * drops or adds a column of a table it did not create rolls everything back (EnxColumnChangedError).
 * The ENX schema itself and the local stand-ins' tables are local-only (local/migrations).
 *
 * The files live next to this module; the build copies them next to the bundle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db, DbClient } from '../core/db';
import { withTransaction } from '../core/db';

export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Any fixed number works; this one spells "enx-jobs" closely enough to be recognisable in pg_locks. */
const MIGRATION_LOCK_KEY = 0x656e786a;

/** Our own tables carry this prefix; every other table in the schema belongs to ENX. */
export const OWN_TABLE_PREFIX = 'enx_jobs_';

export interface Migration {
  readonly name: string;
  readonly sql: string;
}

export interface MigrateOptions {
  /** Run every pending migration and its checks, then roll back: nothing is kept. */
  readonly dryRun?: boolean;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ name: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

/** A migration would alter a table that is not ours; nothing was applied. */
export class EnxColumnChangedError extends Error {
  constructor(
    readonly migration: string,
    readonly changes: readonly string[],
  ) {
    super(
      `migration ${migration} would change ENX columns, so nothing was applied: ${changes.join('; ')}. ` +
        'Our migrations may add tables and indexes but never alter a table of the verification server; ' +
        'change the migration so it leaves these columns alone.',
    );
    this.name = 'EnxColumnChangedError';
  }
}

/** table.column → its definition, for every column of a table in the current schema. */
async function columnDefinitions(client: DbClient): Promise<Map<string, string>> {
  const { rows } = await client.query<{ table_name: string; column_name: string; definition: string }>(
    `SELECT table_name, column_name,
            concat_ws(' ', data_type, udt_name, character_maximum_length, numeric_precision, numeric_scale,
                      'nullable=' || is_nullable, 'default=' || coalesce(column_default, '')) AS definition
       FROM information_schema.columns
      WHERE table_schema = current_schema()`,
  );
  return new Map(rows.map((row) => [`${row.table_name}.${row.column_name}`, row.definition]));
}

/**
 * What a migration did to columns of tables that existed before it and are not ours: dropped,
 * changed or added columns. Tables it created itself are its own business.
 */
function enxColumnChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const tableOf = (key: string) => key.slice(0, key.indexOf('.'));
  const existingTables = new Set([...before.keys()].map(tableOf));
  const watched = (key: string) =>
    existingTables.has(tableOf(key)) && !tableOf(key).startsWith(OWN_TABLE_PREFIX);
  const changes: string[] = [];
  for (const [key, definition] of before) {
    if (!watched(key)) continue;
    const now = after.get(key);
    if (now === undefined) changes.push(`${key} dropped`);
    else if (now !== definition) changes.push(`${key} changed from "${definition}" to "${now}"`);
  }
  for (const key of after.keys()) if (watched(key) && !before.has(key)) changes.push(`${key} added`);
  return changes;
}

async function applyChecked(client: DbClient, migration: Migration): Promise<void> {
  const before = await columnDefinitions(client);
  try {
    await client.query(migration.sql);
  } catch (error) {
    throw new Error(
      `migration ${migration.name} failed, so nothing was applied: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const changes = enxColumnChanges(before, await columnDefinitions(client));
  if (changes.length > 0) throw new EnxColumnChangedError(migration.name, changes);
}

/** Rolls a dry run back once its migrations and checks have all passed. */
class DryRunDone extends Error {
  constructor(readonly wouldApply: string[]) {
    super('dry run');
  }
}

/**
 * Applies the migrations not yet applied; returns their names (with dryRun, the names it would
 * apply, after running them and their checks in a transaction that is then rolled back).
 */
export async function migrate(
  db: Db,
  migrations = loadMigrations(),
  options: MigrateOptions = {},
): Promise<string[]> {
  try {
    return await withTransaction(db, async (client) => {
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
        await applyChecked(client, migration);
        await client.query('INSERT INTO enx_jobs_schema_migrations (name) VALUES ($1)', [migration.name]);
      }
      const names = pending.map((migration) => migration.name);
      if (options.dryRun) throw new DryRunDone(names);
      return names;
    });
  } catch (error) {
    if (error instanceof DryRunDone) return error.wouldApply;
    throw error;
  }
}
