/**
 * `npm run migrate` on an existing verification server database: an ENX-shaped database
 * (test/fixtures/enx-database.sql, from ENX's schema facts) with rows in every table gets our
 * production migrations on top, and keeps every ENX column and row as it was.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { ENX_TABLES } from '../../functions/db/enx-schema';
import { EnxColumnChangedError, loadMigrations, migrate, OWN_TABLE_PREFIX } from '../../functions/db/migrate';
import { LOCAL_MIGRATIONS_DIR } from '../../local/migrate';
import { displayDatabaseUrl, parseMigrateArgs, runMigrate } from '../../scripts/migrate';
import { createTestDatabase } from '../support/database';
import type { TestDatabase } from '../support/database';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'enx-database.sql');
const PRODUCTION = loadMigrations().map((migration) => migration.name);

async function enxColumns(pool: Pool): Promise<unknown[]> {
  const { rows } = await pool.query(
    `SELECT table_name, column_name, data_type, udt_name, character_maximum_length, numeric_precision,
            numeric_scale, is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name NOT LIKE $1
      ORDER BY table_name, column_name`,
    [`${OWN_TABLE_PREFIX}%`],
  );
  return rows;
}

/** Every row of every ENX table (and ENX's own migrations ledger), as JSON, in a stable order. */
async function enxRows(pool: Pool): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const table of [...ENX_TABLES, 'migrations']) {
    const { rows } = await pool.query<{ row: string }>(
      `SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`,
    );
    tables[table] = rows.map((row) => row.row);
  }
  return tables;
}

async function tableNames(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return rows.map((row) => row.table_name);
}

function run(database: TestDatabase, ...flags: string[]): Promise<{ code: number; lines: string[] }> {
  const request = parseMigrateArgs(['--database-url', database.url, ...flags]);
  if (request.kind !== 'run') throw new Error(`unexpected ${request.kind}`);
  const lines: string[] = [];
  return runMigrate(request, (line) => lines.push(line)).then((code) => ({ code, lines }));
}

describe('npm run migrate on an ENX-shaped database', () => {
  let database: TestDatabase;
  let columnsBefore: unknown[];
  let rowsBefore: Record<string, string[]>;

  beforeAll(async () => {
    database = await createTestDatabase(2, { empty: true });
    await database.pool.query(readFileSync(FIXTURE, 'utf8'));
    columnsBefore = await enxColumns(database.pool);
    rowsBefore = await enxRows(database.pool);
  });
  afterAll(async () => database.drop());

  it('has rows in every ENX table to lose', () => {
    for (const table of ENX_TABLES) expect([table, rowsBefore[table].length > 0]).toEqual([table, true]);
  });

  it('with --dry-run, names what it would apply and changes nothing', async () => {
    const { code, lines } = await run(database, '--dry-run');
    expect(code).toBe(0);
    expect(lines[0]).toBe(`would apply ${PRODUCTION.join(', ')} on ${displayDatabaseUrl(database.url)}`);
    expect((await tableNames(database.pool)).filter((name) => name.startsWith(OWN_TABLE_PREFIX))).toEqual([]);
  });

  it('applies the production migrations and no local-only one', async () => {
    const { code, lines } = await run(database);
    expect(code).toBe(0);
    expect(lines).toEqual([`applied ${PRODUCTION.join(', ')} on ${displayDatabaseUrl(database.url)}`]);
    const tables = await tableNames(database.pool);
    expect(tables.filter((name) => name.startsWith('enx_jobs_local_'))).toEqual([]);
    expect(tables).toEqual(
      expect.arrayContaining(['enx_jobs_ticks', 'enx_jobs_attempts', 'enx_jobs_counters']),
    );
  });

  it('changes no ENX column and loses no row', async () => {
    expect(await enxColumns(database.pool)).toEqual(columnsBefore);
    expect(await enxRows(database.pool)).toEqual(rowsBefore);
  });

  it('is idempotent', async () => {
    const { code, lines } = await run(database);
    expect(code).toBe(0);
    expect(lines).toEqual([`${displayDatabaseUrl(database.url)} is up to date: nothing to apply`]);
  });

  it('refuses a migration that would change an ENX column, and keeps nothing of it', async () => {
    const altering = [
      {
        name: '9001_widen_region',
        sql: 'CREATE TABLE enx_jobs_x (id int); ALTER TABLE realms ALTER COLUMN region_code TYPE text',
      },
    ];
    await expect(migrate(database.pool, altering)).rejects.toThrow(EnxColumnChangedError);
    await expect(migrate(database.pool, altering)).rejects.toThrow(
      /migration 9001_widen_region would change ENX columns, so nothing was applied: realms\.region_code changed/,
    );
    const adding = [{ name: '9002_add', sql: 'ALTER TABLE tokens ADD COLUMN enx_jobs_note text' }];
    await expect(migrate(database.pool, adding)).rejects.toThrow(/tokens\.enx_jobs_note added/);
    expect(await enxColumns(database.pool)).toEqual(columnsBefore);
    expect(await tableNames(database.pool)).not.toContain('enx_jobs_x');
  });
});

describe('npm run migrate refuses what it must not touch', () => {
  it('refuses a database without ENX tables, naming them', async () => {
    const empty = await createTestDatabase(1, { empty: true });
    try {
      const { code, lines } = await run(empty);
      expect(code).toBe(1);
      expect(lines[0]).toMatch(
        /^refused: .* is not a verification server database \(missing ENX tables: audit_entries, /,
      );
      expect(await tableNames(empty.pool)).toEqual([]);
    } finally {
      await empty.drop();
    }
  });

  it('explains a bad command line', () => {
    expect(parseMigrateArgs([])).toEqual({
      kind: 'error',
      message: expect.stringMatching(/--database-url needs a postgres:\/\/ URL/),
    });
    expect(parseMigrateArgs(['--database-url', 'mysql://x'])).toMatchObject({ kind: 'error' });
    expect(parseMigrateArgs(['--database-url', 'postgres://h/db', '--force'])).toEqual({
      kind: 'error',
      message: 'unknown option "--force"',
    });
  });

  it('keeps the ENX table list and the local stand-in schema in step', () => {
    const sql = readFileSync(path.join(LOCAL_MIGRATIONS_DIR, '0001_enx_schema.sql'), 'utf8');
    const created = [...sql.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)].map((match) => match[1]).sort();
    expect(created).toEqual([...ENX_TABLES]);
  });
});
