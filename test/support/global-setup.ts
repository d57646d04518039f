/**
 * First the system programs some tests need (installed with apt-get when missing, where this
 * process may: local/system-tools.ts). Then one real PostgreSQL for the whole test run, with a migrated template database. Each test file
 * clones the template into a database of its own (test/support/database.ts), so files run in
 * parallel without seeing each other's rows.
 */
import { Pool } from 'pg';
import { startEmbeddedPostgres } from '../../local/embedded-postgres';
import { migrateLocal } from '../../local/migrate';
import { ensureSystemTools, TEST_TOOLS } from '../../local/system-tools';

export const TEMPLATE_DATABASE = 'enx_jobs_template';

export default async function globalSetup(): Promise<void> {
  ensureSystemTools(TEST_TOOLS, (line) => process.stderr.write(`\n[setup] ${line}\n`));
  const server = await startEmbeddedPostgres({ persistent: false, fast: true });
  await server.createDatabase(TEMPLATE_DATABASE);
  const pool = new Pool({ connectionString: server.url(TEMPLATE_DATABASE) });
  try {
    await migrateLocal(pool);
  } finally {
    await pool.end();
  }
  process.env.ENX_TEST_PG_ADMIN_URL = server.url('postgres');
  process.env.ENX_TEST_PG_TEMPLATE = TEMPLATE_DATABASE;
  (globalThis as { __enxPostgres?: typeof server }).__enxPostgres = server;
}
