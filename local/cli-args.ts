/**
 * The command line of `npm start` (npm passes what follows `--`). Parsing is pure so it is tested
 * without starting anything; main.ts decides what to print and how to exit.
 */

/** The status page's usual port; taken → the fleet falls back to a free one and says so. */
export const DEFAULT_STATUS_PORT = 8080;

export interface RunCommand {
  readonly kind: 'run';
  /** Fire every job once at start-up (schedule time = now), then follow the schedule. */
  readonly runNow: boolean;
  readonly statusPort: number;
  /** Where Postgres data and logs live; undefined = the repository's .data folder. */
  readonly dataDir?: string;
  /** SQL that builds an ENX database (say pg_dump --schema-only of one), loaded into a new local database. */
  readonly enxSchemaFile?: string;
}

export type CliCommand =
  RunCommand | { readonly kind: 'help' } | { readonly kind: 'error'; readonly message: string };

export const USAGE = `Usage: npm start -- [options]

Runs the whole enx-jobs fleet on this machine: embedded PostgreSQL (data kept in .data/pg),
migrations and demo data, a loopback token issuer, every job as a Functions Framework server, a
scheduler that follows the catalog's cron schedules like Cloud Scheduler, and a status page.
Everything listens on 127.0.0.1 only. Ctrl-C stops it; a second Ctrl-C exits at once.

Options:
  --run-now      fire every job once at start-up (schedule time = now), then follow the schedule
  --port <n>     port of the status page (default ${DEFAULT_STATUS_PORT}; a free one when taken; 0 = any)
  --data-dir <d> keep Postgres data and logs in <d> instead of the repository's .data folder
  --enx-schema <file.sql>
                 build a new local database from this SQL (an ENX database's schema, say from
                 pg_dump --schema-only) instead of the local stand-in schema, then migrate on top
  -h, --help     show this help

Job settings (for example AUDIT_ENTRY_MAX_AGE=240h) are read from the environment; the wiring
(database, token issuer, audiences, project) is always the local one.
`;

function parsePort(text: string | undefined): number | string {
  if (text === undefined || text === '') return '--port needs a value, for example --port 8081';
  if (!/^\d+$/.test(text)) return `--port "${text}" is not a port number (0-65535)`;
  const port = Number(text);
  if (port > 65535) return `--port ${text} is above 65535`;
  return port;
}

export function parseCliArgs(argv: readonly string[]): CliCommand {
  let runNow = false;
  let statusPort = DEFAULT_STATUS_PORT;
  let dataDir: string | undefined;
  let enxSchemaFile: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--run-now') {
      runNow = true;
      continue;
    }
    if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[(index += 1)] : arg.slice('--port='.length);
      const port = parsePort(value);
      if (typeof port === 'string') return { kind: 'error', message: port };
      statusPort = port;
      continue;
    }
    if (arg === '--data-dir' || arg.startsWith('--data-dir=')) {
      const value = arg === '--data-dir' ? argv[(index += 1)] : arg.slice('--data-dir='.length);
      if (value === undefined || value === '' || value.startsWith('--')) {
        return { kind: 'error', message: '--data-dir needs a folder, for example --data-dir /tmp/enx-fleet' };
      }
      dataDir = value;
      continue;
    }
    if (arg === '--enx-schema' || arg.startsWith('--enx-schema=')) {
      const value = arg === '--enx-schema' ? argv[(index += 1)] : arg.slice('--enx-schema='.length);
      if (value === undefined || value === '' || value.startsWith('--')) {
        return {
          kind: 'error',
          message: '--enx-schema needs a .sql file, for example --enx-schema enx-schema.sql',
        };
      }
      enxSchemaFile = value;
      continue;
    }
    return { kind: 'error', message: `unknown option "${arg}"` };
  }
  return {
    kind: 'run',
    runNow,
    statusPort,
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(enxSchemaFile === undefined ? {} : { enxSchemaFile }),
  };
}
