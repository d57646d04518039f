/**
 * Small jobs for testing the runtime itself: a spec shaped like the catalog's (cleanupWorker) but
 * with short timeouts and no configuration, whose logic the test supplies; plus promises a test
 * resolves by hand, so tests synchronise on events rather than on sleeps.
 */
import { noConfig } from '../../functions/core/config';
import { DEFAULT_BACKOFF, defineJob } from '../../functions/core/job-spec';
import type { JobDefinition, JobRun, JobSpec } from '../../functions/core/job-spec';
import type { TestDatabase } from './database';

export type NoConfig = ReturnType<typeof noConfig.parse>;

export function testJobSpec(id: string, overrides: Partial<JobSpec<NoConfig>> = {}): JobSpec<NoConfig> {
  return {
    id,
    description: `runtime test job ${id}`,
    schedule: { cron: '*/5 * * * *', timeZone: 'Etc/UTC' },
    httpMethod: 'GET',
    // Generous: on a loaded 2-core machine a test job must never time out by accident.
    timeoutMs: 20_000,
    attemptDeadlineMs: 25_000,
    retry: { ...DEFAULT_BACKOFF, retryCount: 3 },
    skippedTick: 'covered-by-next',
    missedTicksBeforeAlert: 3,
    config: noConfig,
    roles: [],
    memoryMb: 256,
    ...overrides,
  };
}

export function testJob(
  id: string,
  run: JobRun<NoConfig>,
  overrides: Partial<JobSpec<NoConfig>> = {},
): JobDefinition<NoConfig> {
  return defineJob(testJobSpec(id, overrides), run);
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Polls `check` every 20 ms until it returns true; fails after `timeoutMs`. */
export async function eventually(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface TickRow {
  tick_id: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

export async function ledgerTicks(db: TestDatabase, jobId: string): Promise<TickRow[]> {
  const { rows } = await db.pool.query<TickRow>(
    'SELECT tick_id, state, attempts, last_error FROM enx_jobs_ticks WHERE job_id = $1 ORDER BY scheduled_at, tick_id',
    [jobId],
  );
  return rows;
}

/** Log entries of one job (by their job label), in order. */
export function jobEntries(entries: Record<string, unknown>[], jobId: string): Record<string, unknown>[] {
  return entries.filter(
    (entry) => (entry['logging.googleapis.com/labels'] as Record<string, string> | undefined)?.job === jobId,
  );
}

export function eventsOf(entries: Record<string, unknown>[], jobId: string): unknown[] {
  return jobEntries(entries, jobId)
    .map((entry) => entry.event)
    .filter((event) => event !== undefined);
}
