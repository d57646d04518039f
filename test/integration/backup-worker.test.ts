/**
 * backup-worker (enx-jobs.md §2): the object name carries the tick and attempt (sortable, findable
 * from the ledger), success only when the export finished, a failing, empty or hanging export ends
 * in a clear error. The export edge is a small test double for the rules; one test runs the job
 * through the runtime with the real local pg_dump export and reads the file back.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { backupWorker } from '../../functions/catalog';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onlyAdapters } from '../support/only-adapters';
import type { DatabaseExport, ExportRequest } from '../../functions/ports/database-export';
import { ManualClock } from '../support/manual-clock';
import type { JobContext } from '../../functions/core/job-spec';
import { createLogger, SecretRegistry } from '../../functions/core/logger';
import { memoryWriter } from '../support/memory-writer';
import type { Tick } from '../../functions/core/tick';
import { backupConfig } from '../../functions/jobs/backup-worker/config';
import { backupObjectName, runBackup } from '../../functions/jobs/backup-worker/run';
import { admitScheduledTick, tickFromHeader } from '../../functions/core/tick';
import { createHarness, ledgerAttempts } from '../support/harness';

const ENV = {
  BACKUP_BUCKET: 'enx-test-project-backups',
  BACKUP_DATABASE_NAME: 'en-verification',
  BACKUP_DATABASE_INSTANCE_URL:
    'https://sqladmin.googleapis.com/sql/v1beta4/projects/enx-test-project/instances/db',
};
const config = backupConfig.parse({ ...ENV, BACKUP_TIMEOUT: '10s' });
const T0 = new Date('2026-03-01T04:00:00Z');
const scheduled: Tick = { id: T0.toISOString(), scheduledAt: T0, manual: false };

function context(
  exporter: DatabaseExport,
  tick: Tick = scheduled,
  attempt = 1,
  signal?: AbortSignal,
): JobContext {
  return {
    db: undefined as never,
    clock: new ManualClock(T0),
    logger: createLogger({ write: memoryWriter().write, minSeverity: 'DEBUG' }),
    spec: backupWorker,
    abortSignal: signal ?? new AbortController().signal,
    secrets: new SecretRegistry(),
    tick,
    attempt,
    adapters: onlyAdapters({ databaseExport: exporter }),
  };
}

function recording(
  result: (request: ExportRequest) => Promise<{ uri: string; sizeBytes?: number; operation: string }>,
) {
  const requests: ExportRequest[] = [];
  const exporter: DatabaseExport = {
    exportDatabase: (request) => {
      requests.push(request);
      return result(request);
    },
  };
  return { exporter, requests };
}

describe('backup-worker', () => {
  it('names the object by tick time, kind and attempt, so names sort oldest to newest', () => {
    expect(backupObjectName('en-verification', scheduled, 2)).toBe(
      'database/en-verification/20260301T040000Z-scheduled-a2.sql',
    );
    const manual: Tick = {
      id: 'manual-2026-03-01T05:10:00.000Z-a1b2c3',
      scheduledAt: new Date('2026-03-01T05:10:00Z'),
      manual: true,
    };
    const names = [
      backupObjectName('db', manual, 1),
      backupObjectName('db', scheduled, 1),
      backupObjectName('db', { ...scheduled, scheduledAt: new Date('2026-03-01T08:00:00Z') }, 1),
    ];
    expect(names[0]).toBe('database/db/20260301T051000Z-manual-a1b2c3-a1.sql');
    expect([...names].sort()).toEqual([names[1], names[0], names[2]]);
  });

  it('names a forced run (Run now) by its dispatch time and "forced", nothing of the time twice', () => {
    const rules = {
      schedule: { cron: '0 4 * * *', timeZone: 'Etc/UTC' },
      attemptDeadlineMs: 60_000,
      retry: { retryCount: 1, maxBackoffMs: 60_000 },
    };
    const now = new Date('2026-03-01T05:10:07Z');
    const forced = admitScheduledTick(tickFromHeader('2026-03-01T05:10:07Z', now), rules, now);
    expect(forced.id).toBe('forced-2026-03-01T05:10:07.000Z');
    expect(backupObjectName('db', forced, 1)).toBe('database/db/20260301T051007Z-forced-a1.sql');
  });

  it('asks for the tick-named object and reports the object, size and operation', async () => {
    const { exporter, requests } = recording(async (request) => ({
      uri: `gs://${ENV.BACKUP_BUCKET}/${request.objectName}`,
      sizeBytes: 4096,
      operation: 'operations/export-1',
    }));
    const result = await runBackup(context(exporter, scheduled, 3), config);
    expect(requests.map((request) => request.objectName)).toEqual([
      'database/en-verification/20260301T040000Z-scheduled-a3.sql',
    ]);
    expect(result).toMatchObject({
      object: 'gs://enx-test-project-backups/database/en-verification/20260301T040000Z-scheduled-a3.sql',
      sizeBytes: 4096,
      operation: 'operations/export-1',
    });
  });

  it('fails naming the database, the object and the cause when the export fails', async () => {
    const { exporter } = recording(async () => {
      throw new Error(
        'export operation operations/x ended in error: bucket enx-test-project-backups not found',
      );
    });
    await expect(runBackup(context(exporter), config)).rejects.toThrow(
      /export of database en-verification to database\/en-verification\/20260301T040000Z-scheduled-a1.sql did not finish: .*bucket .* not found/,
    );
  });

  it('fails when the export finished but wrote nothing', async () => {
    const { exporter } = recording(async (request) => ({
      uri: request.objectName,
      sizeBytes: 0,
      operation: 'op',
    }));
    await expect(runBackup(context(exporter), config)).rejects.toThrow(/finished but .* is empty/);
  });

  it('gives up after BACKUP_TIMEOUT with an export that never finishes, saying so', async () => {
    const short = backupConfig.parse({ ...ENV, BACKUP_TIMEOUT: '1s' });
    const hanging = recording(
      (request) =>
        new Promise((_, reject) => {
          request.signal?.addEventListener('abort', () =>
            reject(new Error('export still running when aborted')),
          );
        }),
    );
    await expect(runBackup(context(hanging.exporter), short)).rejects.toThrow(
      /did not finish \(BACKUP_TIMEOUT 1000 ms passed\): export still running when aborted/,
    );
  });

  it('writes a complete pg_dump through the runtime, named by the tick, and records it in the ledger', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'enx-backup-test-'));
    const harness = await createHarness({
      env: { ...ENV, LOCAL_BACKUP_DIR: directory, DATABASE_EXPORT: 'local-pg-dump' },
    });
    try {
      const response = await harness.invoke('backup-worker', { scheduleTime: '2026-03-01T04:00:00Z' });
      expect(response.status).toBe(200);
      const [attempt] = await ledgerAttempts(harness.db, 'backup-worker');
      const file = path.join(directory, 'database/en-verification/20260301T040000Z-scheduled-a1.sql');
      expect(attempt).toMatchObject({ state: 'succeeded', result: { object: file } });
      const dump = readFileSync(file, 'utf8');
      expect((attempt.result as { sizeBytes: number }).sizeBytes).toBe(Buffer.byteLength(dump));
      expect(dump).toContain('CREATE TABLE public.token_signing_keys');
      expect(dump).toContain('-- PostgreSQL database dump complete');
    } finally {
      await harness.close();
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it('removes the .partial files of runs killed mid-export, but not a dump still being written', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'enx-backup-test-'));
    const folder = path.join(directory, 'database/en-verification');
    mkdirSync(folder, { recursive: true });
    const killed = path.join(folder, '20260301T000000Z-scheduled-a1.sql.partial-0badc0de');
    const writing = path.join(folder, '20260301T040000Z-manual-abcdef-a1.sql.partial-5ca1ab1e');
    writeFileSync(killed, '-- half a dump');
    writeFileSync(writing, '-- a dump being written');
    const dayAgo = new Date(Date.now() - 24 * 3_600_000);
    utimesSync(killed, dayAgo, dayAgo);
    const harness = await createHarness({
      env: { ...ENV, LOCAL_BACKUP_DIR: directory, DATABASE_EXPORT: 'local-pg-dump' },
    });
    try {
      const response = await harness.invoke('backup-worker', { scheduleTime: '2026-03-01T08:00:00Z' });
      expect(response.status).toBe(200);
      expect(response.body.result).toMatchObject({ partialsRemoved: 1 });
      expect(existsSync(killed)).toBe(false);
      expect(existsSync(writing)).toBe(true);
      expect(harness.logs.entries()).toContainEqual(
        expect.objectContaining({ event: 'backup_partials_removed', files: [killed] }),
      );
    } finally {
      await harness.close();
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});
