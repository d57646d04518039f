/**
 * Attempts whose instance died stay "running" in the ledger until the job's next attempt takes
 * the lock, which for a four-hourly job is hours. The watchdog settles them sooner: an attempt
 * still running past its deadline (plus the lock's takeover grace, for clock skew) is abandoned,
 * its tick failed or exhausted, and its failure counted, exactly as the next attempt would do.
 * A hung holder that still keeps the job lock is terminated first, so nothing runs under an
 * attempt the ledger calls abandoned.
 */
import { catalog } from '../../catalog';
import type { JobContext } from '../../core/job-spec';
import { abandonAttempt, findOverdueAttempts } from '../../core/ledger';
import type { AbandonedAttempt } from '../../core/ledger';
import { TAKEOVER_GRACE_MS, terminateHungHolder } from '../../core/lock';
import { incrementCounter } from '../../db/counters';

const ABANDONED_ERROR =
  'abandoned by the fleet-watchdog: still marked running past its deadline (its instance stopped or hung)';

export async function abandonOverdueAttempts(
  context: Pick<JobContext, 'db' | 'clock' | 'logger'>,
): Promise<(AbandonedAttempt & { jobId: string })[]> {
  const now = context.clock.now();
  const settled: (AbandonedAttempt & { jobId: string })[] = [];
  for (const overdue of await findOverdueAttempts(context.db, now, TAKEOVER_GRACE_MS)) {
    if (
      overdue.holderPid !== null &&
      (await terminateHungHolder(context.db, overdue.jobId, overdue.holderPid))
    ) {
      context.logger.warn(`terminated a hung attempt of ${overdue.jobId} that still held the job lock`, {
        event: 'lock_takeover',
        job: overdue.jobId,
        pid: overdue.holderPid,
      });
    }
    const abandoned = await abandonAttempt(
      context.db,
      overdue.id,
      now,
      maxAttempts(overdue.jobId),
      ABANDONED_ERROR,
    );
    if (!abandoned) continue; // it finished meanwhile
    await incrementCounter(context.db, overdue.jobId, 'failed', now);
    if (abandoned.exhausted) await incrementCounter(context.db, overdue.jobId, 'exhausted', now);
    context.logger.error(`an attempt of ${overdue.jobId} was abandoned: it ran past its deadline`, {
      event: 'abandoned',
      job: overdue.jobId,
      abandoned,
    });
    settled.push({ ...abandoned, jobId: overdue.jobId });
  }
  return settled;
}

/** A job no longer in the catalog gets no retries: its abandoned attempt exhausts its tick. */
function maxAttempts(jobId: string): number {
  const spec = catalog.find((job) => job.id === jobId);
  return spec ? spec.retry.retryCount + 1 : 1;
}
