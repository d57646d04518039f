/**
 * backup-worker: exports the database (enx-jobs.md §2). Each run writes its own object, named by
 * the tick it serves and the attempt,
 * `database/<db>/<tick time>-<scheduled|forced|manual-…>-a<attempt>.sql`, so every successful
 * backup is findable from the run ledger and names sort oldest to newest. The original overwrote
 * one object (relying on bucket versioning) and counted an accepted export request as success;
 * here the run succeeds only once the export operation has finished and reported no error, and an
 * export that wrote nothing fails.
 */
import { describeError } from '../../core/errors';
import type { JobContext, JobResult } from '../../core/job-spec';
import { tickKind } from '../../core/tick';
import type { Tick } from '../../core/tick';
import { deadlineSignal } from '../../core/timeout';
import type { BackupConfig } from './config';

/** `20261123T200000Z`: the tick's time in ISO 8601 basic form, sortable and safe in any file name. */
function compactTime(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The object one attempt of a tick writes; names sort by the tick's time first. */
export function backupObjectName(databaseName: string, tick: Tick, attempt: number): string {
  return `database/${databaseName}/${compactTime(tick.scheduledAt)}-${tickKind(tick)}-a${attempt}.sql`;
}

/**
 * What runs killed mid-export left: removed before this run writes. Only output untouched for a
 * whole BACKUP_TIMEOUT goes, since any run's export is aborted by then; and the job lock means no
 * other attempt of this job is running now.
 */
async function removeLeftovers(context: JobContext, config: BackupConfig): Promise<number> {
  const olderThan = new Date(context.clock.now().getTime() - config.timeoutMs);
  const removed = (await context.adapters.databaseExport.removeIncomplete?.(olderThan)) ?? [];
  if (removed.length > 0) {
    context.logger.warn(`removed ${removed.length} incomplete backup file(s) left by killed runs`, {
      event: 'backup_partials_removed',
      files: removed,
    });
  }
  return removed.length;
}

export async function runBackup(context: JobContext, config: BackupConfig): Promise<JobResult> {
  const partialsRemoved = await removeLeftovers(context, config);
  const objectName = backupObjectName(config.backupDatabaseName, context.tick, context.attempt);
  const deadline = deadlineSignal(context.abortSignal, config.timeoutMs);
  const startedAt = context.clock.now();
  context.logger.info(`exporting database ${config.backupDatabaseName} to ${objectName}`, {
    event: 'backup_started',
    object: objectName,
  });
  let result;
  try {
    result = await context.adapters.databaseExport.exportDatabase({ objectName, signal: deadline.signal });
  } catch (error) {
    if (context.abortSignal.aborted) throw error;
    const timedOut = deadline.timedOut ? ` (BACKUP_TIMEOUT ${config.timeoutMs} ms passed)` : '';
    throw new Error(
      `export of database ${config.backupDatabaseName} to ${objectName} did not finish${timedOut}: ${describeError(error)}`,
      { cause: error },
    );
  } finally {
    deadline.clear();
  }
  if (result.sizeBytes === 0) {
    throw new Error(
      `export of database ${config.backupDatabaseName} finished but ${result.uri} is empty; check the export operation ${result.operation}`,
    );
  }
  const durationMs = context.clock.now().getTime() - startedAt.getTime();
  context.logger.info(`backup written to ${result.uri}`, {
    event: 'backup_written',
    uri: result.uri,
    sizeBytes: result.sizeBytes,
    operation: result.operation,
  });
  return {
    object: result.uri,
    ...(result.sizeBytes !== undefined ? { sizeBytes: result.sizeBytes } : {}),
    operation: result.operation,
    exportMs: durationMs,
    ...(partialsRemoved > 0 ? { partialsRemoved } : {}),
  };
}
