/**
 * Applies our production migrations to an existing verification server (ENX) database:
 *
 *   npm run migrate -- --database-url postgres://user:pass@host:5432/en-verification [--dry-run]
 *
 * Idempotent (each migration is recorded in enx_jobs_schema_migrations and applied once) and never
 * changes an ENX column: every migration is checked inside one transaction before anything is kept
 * (functions/db/migrate.ts), and a database without ENX's tables is refused rather than given a
 * half schema. --dry-run runs the same migrations and checks, then rolls back. The local-only
 * migrations (the ENX schema stand-in, the local key and secret stores) are never applied here.
 */
import { Pool } from 'pg';
import { missingEnxTables } from '../functions/db/enx-schema';
import { loadMigrations, migrate } from '../functions/db/migrate';

export const MIGRATE_USAGE = `Usage: npm run migrate -- --database-url postgres://user:password@host:port/database [--dry-run]

Applies the enx-jobs migrations to an existing verification server database. Safe to run again:
applied migrations are skipped. No ENX column is ever changed; a migration that would change one
is refused and nothing is applied. --dry-run checks everything, then rolls back.
`;

export type MigrateRequest =
  | { readonly kind: 'run'; readonly databaseUrl: string; readonly dryRun: boolean }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

export function parseMigrateArgs(argv: readonly string[]): MigrateRequest {
  let databaseUrl: string | undefined;
  let dryRun = false;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--dry-run') {
      dryRun = true;
    } else if (arg === '--database-url' || arg.startsWith('--database-url=')) {
      databaseUrl = arg === '--database-url' ? argv[(index += 1)] : arg.slice('--database-url='.length);
    } else {
      return { kind: 'error', message: `unknown option "${arg}"` };
    }
  }
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return {
      kind: 'error',
      message:
        '--database-url needs a postgres:// URL, for example --database-url postgres://enx@127.0.0.1:5432/en-verification',
    };
  }
  return { kind: 'run', databaseUrl, dryRun };
}

/** The URL without its password, fit for a terminal. */
export function displayDatabaseUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** Runs the command; returns the exit code. */
export async function runMigrate(
  request: Extract<MigrateRequest, { kind: 'run' }>,
  out: (line: string) => void,
): Promise<number> {
  const where = displayDatabaseUrl(request.databaseUrl);
  const pool = new Pool({
    connectionString: request.databaseUrl,
    max: 1,
    application_name: 'enx-jobs-migrate',
  });
  pool.on('error', () => undefined);
  try {
    const missing = await missingEnxTables(pool);
    if (missing.length > 0) {
      out(
        `refused: ${where} is not a verification server database (missing ENX tables: ${missing.join(', ')}). ` +
          'Point --database-url at the database the ENX server migrated; for a local database run npm start instead.',
      );
      return 1;
    }
    const applied = await migrate(pool, loadMigrations(), { dryRun: request.dryRun });
    const verb = request.dryRun ? 'would apply' : 'applied';
    out(
      applied.length > 0
        ? `${verb} ${applied.join(', ')} on ${where}`
        : `${where} is up to date: nothing to apply`,
    );
    if (request.dryRun && applied.length > 0) out('dry run: checked and rolled back, nothing was changed');
    return 0;
  } catch (error) {
    out(`refused: ${(error as Error).message}`);
    return 1;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<number> {
  const request = parseMigrateArgs(process.argv.slice(2));
  if (request.kind === 'help') {
    process.stdout.write(MIGRATE_USAGE);
    return 0;
  }
  if (request.kind === 'error') {
    process.stderr.write(`${request.message}\n\n${MIGRATE_USAGE}`);
    return 2;
  }
  return runMigrate(request, (line) => process.stdout.write(`${line}\n`));
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
