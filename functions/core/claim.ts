/**
 * The claim stage: take the job lock, settle attempts whose instance died, and open this tick's
 * attempt in the ledger, or say why the tick does not run now. Jobs never overlap, so a tick that
 * meets another tick of its job is skipped or deferred as the catalog says (JobSpec.skippedTick).
 */
import { describeError } from './errors';
import type { JobSpec } from './job-spec';
import { abandonOrphans, openAttempt, recordDeferral, recordNonRun } from './ledger';
import type { AbandonedAttempt, AttemptIdentity } from './ledger';
import { acquireJobLock } from './lock';
import type { JobLock, LockHolder } from './lock';
import type { Logger } from './logger';
import type { Deferred, Duplicate, InProgress, Skipped, Unavailable } from './outcome';
import type { Runtime } from './runtime';

export interface Claimed {
  readonly kind: 'claimed';
  /** Held until the attempt is settled; the pipeline releases it. */
  readonly lock: JobLock;
  readonly attemptId: string;
  readonly attempt: number;
  readonly abandoned: readonly AbandonedAttempt[];
}

/** A duplicate still reports the orphans the lock let it settle. */
export type ClaimResult =
  | Claimed
  | Unavailable
  | InProgress
  | Skipped
  | Deferred
  | (Duplicate & { readonly abandoned: readonly AbandonedAttempt[] });

export async function claim(
  spec: JobSpec<unknown>,
  runtime: Runtime,
  identity: AttemptIdentity,
  logger: Logger,
): Promise<ClaimResult> {
  let lock: JobLock;
  try {
    await runtime.ensureSchema();
    const result = await acquireJobLock(runtime.db(), spec.id, identity.now, {
      onTakeover: (holder) =>
        logger.warn('terminating a hung attempt that is past its deadline and still holds the job lock', {
          event: 'lock_takeover',
          holder,
        }),
    });
    if (!result.acquired) return await turnedAway(spec, runtime, identity, result.holder);
    lock = result.lock;
  } catch (error) {
    return unavailable(identity, `job could not start: ${describeError(error)} (${runtime.databaseHint()})`);
  }
  try {
    return await openUnderLock(spec, lock, identity);
  } catch (error) {
    await lock.release();
    return unavailable(identity, `job could not be run: ${describeError(error)}`);
  }
}

async function openUnderLock(spec: JobSpec<unknown>, lock: JobLock, identity: AttemptIdentity) {
  const abandoned = lock.mayHaveOrphans
    ? await abandonOrphans(lock.client, spec.id, identity.now, maxAttempts(spec))
    : [];
  const opened = await openAttempt(lock.client, identity, {
    pid: lock.pid,
    deadlineAt: new Date(identity.now.getTime() + spec.attemptDeadlineMs),
  });
  if (opened.kind === 'duplicate') {
    await lock.release();
    return { kind: 'duplicate', tick: identity.tick, succeededAt: opened.succeededAt, abandoned } as const;
  }
  return { kind: 'claimed', lock, attemptId: opened.attemptId, attempt: opened.attempt, abandoned } as const;
}

/**
 * The lock is held by someone else. The same tick (or a holder whose tick is not known yet, which
 * may be this one): 409 in progress, so a retry settles it. Another tick: skipped or deferred.
 */
async function turnedAway(
  spec: JobSpec<unknown>,
  runtime: Runtime,
  identity: AttemptIdentity,
  holder: LockHolder | undefined,
): Promise<InProgress | Skipped | Deferred> {
  const db = runtime.db();
  const tick = identity.tick;
  if (holder?.tickId === tick.id || holder?.tickId === undefined) {
    const reason =
      holder?.tickId === tick.id
        ? 'this tick is running in another attempt right now'
        : 'another attempt of this job holds the lock and has not recorded its tick yet; retry later';
    await recordNonRun(db, identity, 'duplicate', reason).catch(() => undefined);
    return { kind: 'in_progress', tick, reason };
  }
  if (spec.skippedTick === 'must-run') {
    const reason = `tick ${holder.tickId} of this job is still running; this tick must run, so it waits for a retry`;
    const { attempt, exhausted } = await recordDeferral(db, identity, reason, maxAttempts(spec));
    return { kind: 'deferred', tick, reason, attempt, exhausted };
  }
  const reason = `tick ${holder.tickId} of this job is still running; jobs never overlap, and the next tick covers this one`;
  await recordNonRun(db, identity, 'skipped', reason).catch(() => undefined);
  return { kind: 'skipped', tick, reason };
}

export function maxAttempts(spec: JobSpec<unknown>): number {
  return spec.retry.retryCount + 1;
}

function unavailable(identity: AttemptIdentity, error: string): Unavailable {
  return { kind: 'unavailable', tick: identity.tick, error, attempt: 0 };
}
