/**
 * The local migrate step (the fleet, the tests, the simulator, the benchmarks): the production
 * migrations plus the local-only ones in local/migrations, in one ordered run. The local-only ones
 * are the stand-ins' stores (key versions, secrets) and, where the database has no ENX tables yet,
 * the ENX schema itself, standing in for the verification server's own migrations. A database that
 * already holds ENX's tables (say one loaded with `npm start -- --enx-schema`) keeps them as they
 * are: only our production migrations and the stand-ins' stores go on top.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../functions/core/db';
import { ENX_TABLES, missingEnxTables } from '../functions/db/enx-schema';
import { loadMigrations, migrate } from '../functions/db/migrate';
import type { Migration } from '../functions/db/migrate';
import { LocalSetupError } from './setup-error';

export const LOCAL_MIGRATIONS_DIR = path.join(__dirname, 'migrations');
/** The stand-in for ENX's schema; the other local migrations are the stand-ins' stores. */
export const LOCAL_ENX_SCHEMA = '0001_enx_schema';

/** Production and local migrations in name order; without the ENX schema when asked. */
export function localMigrations(options: { enxSchema: boolean }): Migration[] {
  const local = loadMigrations(LOCAL_MIGRATIONS_DIR).filter(
    (migration) => options.enxSchema || migration.name !== LOCAL_ENX_SCHEMA,
  );
  return [...loadMigrations(), ...local].sort((a, b) => a.name.localeCompare(b.name));
}

/** Applies what is missing; returns the names applied. */
export async function migrateLocal(db: Db): Promise<string[]> {
  const missing = await missingEnxTables(db);
  const enxPresent = missing.length === 0;
  return migrate(db, localMigrations({ enxSchema: !enxPresent }));
}

/**
 * `npm start -- --enx-schema <file.sql>`: builds the local database from an ENX database's schema
 * (and any rows the file holds) instead of the stand-in schema, so the jobs run on ENX's own column
 * types and constraints. Only a database without ENX tables is loaded; a kept one is left as it is.
 */
export async function loadEnxSchema(db: Db, file: string | undefined): Promise<boolean> {
  if (file === undefined) return false;
  if ((await missingEnxTables(db)).length < ENX_TABLES.length) return false;
  let sql: string;
  try {
    sql = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LocalSetupError(`--enx-schema ${file}: cannot read it (${(error as Error).message})`);
  }
  try {
    await db.query(sql);
  } catch (error) {
    throw new LocalSetupError(`--enx-schema ${file}: PostgreSQL refused it: ${(error as Error).message}`);
  }
  return true;
}
