/**
 * The local database export: `pg_dump` of the database the runtime uses, in plain SQL, into a
 * git-ignored folder (LOCAL_BACKUP_DIR, `.data/backups` by default). A backup that is not whole is
 * worse than none because it looks like one, so the dump is written under a temporary name and
 * renamed into place only when pg_dump exited 0, reported no error, and the file ends with the
 * trailer pg_dump writes last. Never used on Cloud Run (that exports with Cloud SQL).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Db } from '../core/db';
import type { DatabaseExport, ExportRequest, ExportResult } from '../ports/database-export';
import type { PgConnection } from './pg-connection';
import { describeConnection, libpqEnv } from './pg-connection';

const execFileAsync = promisify(execFile);

/** pg_dump writes this comment as the very last thing of a plain-format dump. */
export const DUMP_TRAILER = '-- PostgreSQL database dump complete';
/** A dump in progress is written as `<object>.partial-<8 hex>` and renamed when complete. */
const PARTIAL_MARK = '.partial-';
const PARTIAL_NAME = /\.partial-[0-9a-f]{8}$/;
/** Keep only the end of pg_dump's stderr: an error is at the end, and a chatty run must not grow memory. */
const STDERR_LIMIT = 16 * 1024;

export interface LocalDatabaseExportOptions {
  readonly connection: PgConnection;
  /** The folder dumps go into (created when missing); objectName is a path inside it. */
  readonly directory: string;
  /** The pg_dump to run; empty or undefined means the first one on PATH. */
  readonly pgDumpPath?: string;
}

export class LocalDatabaseExport implements DatabaseExport {
  constructor(
    private readonly db: Db,
    private readonly options: LocalDatabaseExportOptions,
  ) {}

  async exportDatabase(request: ExportRequest): Promise<ExportResult> {
    request.signal?.throwIfAborted();
    const target = this.targetPath(request.objectName);
    const pgDump = await this.checkedPgDump();
    const what = describeConnection(this.options.connection);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}${PARTIAL_MARK}${randomBytes(4).toString('hex')}`;
    try {
      await runPgDump(
        pgDump.path,
        temp,
        libpqEnv(this.options.connection, 'enx-jobs-backup'),
        what,
        request.signal,
      );
      await checkComplete(temp, what);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const { size } = await stat(target);
    return { uri: target, sizeBytes: size, operation: `pg_dump ${pgDump.version} of ${what}` };
  }

  /**
   * A run killed while pg_dump wrote (instance stopped, process killed) never reaches its cleanup,
   * and its `.partial-` file stays. The next run removes those not written to since `olderThan`.
   */
  async removeIncomplete(olderThan: Date): Promise<string[]> {
    const directory = path.resolve(this.options.directory);
    const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch((error) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    });
    const removed: string[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || !PARTIAL_NAME.test(entry.name)) continue;
      const file = path.join(entry.parentPath, entry.name);
      if ((await stat(file)).mtimeMs >= olderThan.getTime()) continue;
      await rm(file, { force: true });
      removed.push(file);
    }
    return removed;
  }

  /** Inside the folder, whatever the caller passed: a name with `..` or an absolute path is refused. */
  private targetPath(objectName: string): string {
    const directory = path.resolve(this.options.directory);
    const target = path.resolve(directory, objectName);
    if (objectName.trim() === '' || !target.startsWith(directory + path.sep) || objectName.includes('\0')) {
      throw new Error(
        `backup object name "${objectName}" must be a relative path inside ${directory} (no "..", not absolute)`,
      );
    }
    return target;
  }

  /**
   * pg_dump refuses to dump a server newer than itself (and an older one would miss what it cannot
   * see), so both versions are compared before anything is written, with what to install.
   */
  private async checkedPgDump(): Promise<{ path: string; version: string }> {
    const pgDumpPath = this.options.pgDumpPath || findOnPath('pg_dump');
    if (!pgDumpPath) {
      throw new Error(
        'pg_dump was not found on PATH: install the PostgreSQL client (apt-get install postgresql-client) or set PG_DUMP_PATH',
      );
    }
    let output: string;
    try {
      output = (await execFileAsync(pgDumpPath, ['--version'], { timeout: 10_000 })).stdout;
    } catch (error) {
      throw new Error(`cannot run ${pgDumpPath} --version (${(error as Error).message}): check PG_DUMP_PATH`);
    }
    const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
    if (!match) throw new Error(`${pgDumpPath} --version printed "${output.trim()}", not a pg_dump version`);
    const clientMajor = Number(match[1]);
    const { rows } = await this.db.query<{ server_version_num: string }>('SHOW server_version_num');
    const serverMajor = Math.floor(Number(rows[0].server_version_num) / 10_000);
    if (clientMajor < serverMajor) {
      throw new Error(
        `${pgDumpPath} is version ${clientMajor} but the server runs PostgreSQL ${serverMajor}; pg_dump cannot dump a newer ` +
          `server: install postgresql-client-${serverMajor} (or newer) and set PG_DUMP_PATH to its pg_dump`,
      );
    }
    return { path: pgDumpPath, version: `${match[1]}${match[2] ? `.${match[2]}` : ''}` };
  }
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  return undefined;
}

function runPgDump(
  pgDumpPath: string,
  file: string,
  env: NodeJS.ProcessEnv,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // Connection settings come from env (libpq variables); argv holds nothing secret.
    const child = spawn(pgDumpPath, ['--format=plain', '--no-password', `--file=${file}`], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start ${pgDumpPath}: ${error.message}: check PG_DUMP_PATH`));
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      const errors = stderr
        .split('\n')
        .filter((line) => /\b(error|fatal|panic):/i.test(line))
        .join('; ');
      if (signal?.aborted) {
        reject(
          new Error(`export of ${what} was aborted; pg_dump was stopped and its partial output removed`),
        );
      } else if (code !== 0) {
        const why = errors || stderr.trim() || (killedBy ? `killed by ${killedBy}` : 'no message');
        reject(new Error(`pg_dump of ${what} failed (exit ${code ?? killedBy}): ${why}`));
      } else if (errors) {
        reject(new Error(`pg_dump of ${what} exited 0 but reported errors: ${errors}`));
      } else {
        resolve();
      }
    });
  });
}

/**
 * A plain dump that stopped early (disk full, killed) lacks the trailer pg_dump writes last. After
 * the trailer come only its closing `--` and, since the August 2025 minor releases, the
 * `\unrestrict <key>` line that pairs with the `\restrict` at the top.
 */
export function endsLikeCompleteDump(tail: string): boolean {
  const lines = tail.split('\n').map((line) => line.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0 && lines[lines.length - 1].startsWith('\\unrestrict ')) lines.pop();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > 0 && lines[lines.length - 1] === '--') lines.pop();
  return lines.length > 0 && lines[lines.length - 1] === DUMP_TRAILER;
}

async function checkComplete(file: string, what: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 1024);
    const tail = Buffer.alloc(length);
    await handle.read(tail, 0, length, size - length);
    if (!endsLikeCompleteDump(tail.toString('utf8'))) {
      throw new Error(
        `the dump of ${what} is incomplete (${size} bytes, no "${DUMP_TRAILER}" trailer at its end); nothing was kept: ` +
          'check free disk space in the backup folder and pg_dump messages',
      );
    }
  } finally {
    await handle.close();
  }
}
