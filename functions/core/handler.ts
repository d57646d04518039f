/**
 * The lifecycle every job runs in, as one HTTP handler per job:
 *
 *   verify caller → name the tick → take the job lock → settle orphans → open the attempt (or answer
 *   duplicate) → run under a timeout → close the attempt → record signals → release → answer
 *
 * Every step's rule comes from design.md "What the runtime guarantees every job". The pieces live
 * in their own modules; this file only orders them and turns what happened into log events, signals
 * and an HTTP answer.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from '@google-cloud/functions-framework';
import { StepsFailedError, TimeoutError, describeError } from './errors';
import type { JobDefinition } from './job-spec';
import { redact } from './logger';
import { abandonOrphans, closeAttempt, openAttempt, recordNonRun } from './ledger';
import type { AttemptIdentity } from './ledger';
import { acquireJobLock } from './lock';
import type { Answer } from './outcome';
import { duplicate, errorList, failed, inProgress, refused, skipped, succeeded } from './outcome';
import type { Runtime } from './runtime';
import type { AttemptOutcome } from './signals';
import { SCHEDULE_TIME_HEADER, tickFromHeader } from './tick';
import type { Tick } from './tick';
import { traceFromHeader } from './trace';
import { runWithTimeout } from './timeout';

export type HttpHandler = (req: Request, res: Response) => Promise<void>;

export function createJobHandler<C>(definition: JobDefinition<C>, runtime: Runtime): HttpHandler {
  return async (req, res) => {
    const answer = await runAttempt(definition, runtime, req);
    res.status(answer.status).json(answer.body);
  };
}

async function runAttempt<C>(definition: JobDefinition<C>, runtime: Runtime, req: Request): Promise<Answer> {
  const { spec } = definition;
  const startedAt = runtime.clock.now();
  const started = performance.now();
  const executionId = req.get('function-execution-id') ?? randomBytes(6).toString('hex');
  const trace = traceFromHeader(req.get('x-cloud-trace-context'), runtime.settings.projectId);
  let logger = runtime.logger.child({ labels: { job: spec.id, execution_id: executionId }, ...trace });

  const recordMetrics = async (
    tick: Tick | undefined,
    attempt: number,
    outcome: AttemptOutcome,
    exhausted = false,
  ) =>
    runtime.sink.attemptFinished({
      jobId: spec.id,
      tickId: tick?.id ?? 'unknown',
      attempt,
      startedAt,
      finishedAt: runtime.clock.now(),
      durationMs: performance.now() - started,
      outcome,
      exhausted,
    });

  let caller;
  let tick: Tick;
  try {
    caller = await runtime.verifier.verify(req.get('authorization'));
    tick = tickFromHeader(req.get(SCHEDULE_TIME_HEADER), startedAt);
  } catch (error) {
    logger.warn(`request refused: ${describeError(error)}`, { event: 'rejected' });
    return refused(error);
  }
  logger = logger.child({ labels: { tick: tick.id } });
  const identity: AttemptIdentity = {
    jobId: spec.id,
    tick,
    now: startedAt,
    executionId,
    trace: trace.trace,
  };

  const db = runtime.db();
  let lockResult;
  try {
    await runtime.ensureSchema();
    lockResult = await acquireJobLock(db, spec.id, startedAt, {
      onTakeover: (holder) =>
        logger.warn('terminating a hung attempt that is past its deadline and still holds the job lock', {
          event: 'lock_takeover',
          holder,
        }),
    });
  } catch (error) {
    logger.error(`job could not start: ${describeError(error)} (${runtime.databaseHint()})`, {
      event: 'failed',
      stage: 'ledger',
    });
    await recordMetrics(tick, 0, 'failed');
    return refused(error);
  }

  if (!lockResult.acquired) {
    const holderTick = lockResult.holder?.tickId;
    // An unknown holder may be running this very tick: answer non-2xx, so that a retry settles it
    // rather than a 200 that would drop the tick if that holder fails.
    if (holderTick === tick.id || holderTick === undefined) {
      const reason =
        holderTick === tick.id
          ? 'this tick is running in another attempt right now'
          : 'another attempt of this job holds the lock and has not recorded its tick yet; retry later';
      await recordNonRun(db, identity, 'duplicate', reason).catch(() => undefined);
      logger.notice(`duplicate request: ${reason}`, { event: 'duplicate' });
      await recordMetrics(tick, 0, 'skipped');
      return inProgress({ job: spec.id, tick: tick.id, reason });
    }
    const reason = `tick ${holderTick} of this job is still running; jobs never overlap`;
    await recordNonRun(db, identity, 'skipped', reason).catch(() => undefined);
    logger.notice(`skipped: ${reason}`, { event: 'skipped' });
    await recordMetrics(tick, 0, 'skipped');
    return skipped(reason, { job: spec.id, tick: tick.id });
  }

  const lock = lockResult.lock;
  const maxAttempts = spec.retry.retryCount + 1;
  try {
    const orphans = lock.mayHaveOrphans
      ? await abandonOrphans(lock.client, spec.id, startedAt, maxAttempts)
      : [];
    for (const orphan of orphans) {
      logger.error('an earlier attempt was abandoned: its instance stopped before finishing', {
        event: 'abandoned',
        abandoned: orphan,
      });
      if (orphan.exhausted)
        logger.error(`tick ${orphan.tickId} exhausted its retries`, { event: 'exhausted' });
      await runtime.sink.attemptFinished({
        jobId: spec.id,
        tickId: orphan.tickId,
        attempt: orphan.attempt,
        startedAt: orphan.startedAt,
        finishedAt: startedAt,
        durationMs: startedAt.getTime() - orphan.startedAt.getTime(),
        outcome: 'failed',
        exhausted: orphan.exhausted,
      });
    }

    const opened = await openAttempt(lock.client, identity, {
      pid: lock.pid,
      deadlineAt: new Date(startedAt.getTime() + spec.attemptDeadlineMs),
    });
    if (opened.kind === 'duplicate') {
      logger.notice('duplicate request: this tick already succeeded; nothing was run', {
        event: 'duplicate',
        succeededAt: opened.succeededAt.toISOString(),
      });
      await recordMetrics(tick, 0, 'skipped');
      return duplicate({ job: spec.id, tick: tick.id, succeededAt: opened.succeededAt.toISOString() });
    }

    const attempt = opened.attempt;
    logger = logger.child({ labels: { attempt: String(attempt) } });
    logger.info('job started', { event: 'started', caller: caller.email, manual: tick.manual });
    await runtime.sink.attemptStarted({ jobId: spec.id, tickId: tick.id, attempt, startedAt });

    let result;
    let failure: unknown;
    try {
      const config = runtime.jobConfig(spec.config);
      // The summary leaves the process (answer, ledger), so it is redacted like a log line.
      result = redact(
        await runWithDeadline(definition, runtime, { logger, tick, attempt }, config),
        runtime.secrets,
      );
    } catch (error) {
      failure = error;
    }
    const finishedAt = runtime.clock.now();
    const durationMs = Math.round(performance.now() - started);
    const fields = { job: spec.id, tick: tick.id, attempt, durationMs };

    if (failure === undefined) {
      await closeAttempt(lock.client, {
        attemptId: opened.attemptId,
        state: 'succeeded',
        exhausted: false,
        finishedAt,
        durationMs,
        result,
      }).catch((error) =>
        logger.error(`job succeeded but the ledger could not record it: ${describeError(error)}`, {
          event: 'ledger_write_failed',
        }),
      );
      logger.info('job succeeded', { event: 'succeeded', durationMs, result });
      await recordMetrics(tick, attempt, 'succeeded');
      return succeeded({ ...fields, result });
    }

    const exhausted = attempt >= maxAttempts;
    // Error messages can quote a secret (a key in a URL, a refused credential); the logger scrubs
    // its lines, and the ledger and the HTTP answer get the same treatment.
    const errors = errorList(failure).map((error) => runtime.secrets.scrub(error));
    const partial =
      failure instanceof StepsFailedError ? redact(failure.partial, runtime.secrets) : undefined;
    await closeAttempt(lock.client, {
      attemptId: opened.attemptId,
      state: 'failed',
      exhausted,
      finishedAt,
      durationMs,
      error: errors.join('\n'),
      result: partial,
    }).catch((error) =>
      logger.error(`the ledger could not record the failure: ${describeError(error)}`, {
        event: 'ledger_write_failed',
      }),
    );
    if (failure instanceof TimeoutError) {
      logger.error(`job timed out after ${spec.timeoutMs} ms`, { event: 'timed_out', durationMs });
    }
    logger.error(`job failed: ${errors.join('; ')}`, {
      event: 'failed',
      errors,
      durationMs,
      exhausted,
      result: partial,
    });
    if (exhausted) {
      logger.error(`tick ${tick.id} exhausted its retries: attempt ${attempt} of ${maxAttempts} failed`, {
        event: 'exhausted',
      });
    }
    await recordMetrics(tick, attempt, 'failed', exhausted);
    return failed(failure, { ...fields, exhausted, result: partial }, errors);
  } catch (error) {
    logger.error(`job could not be run: ${describeError(error)}`, { event: 'failed', stage: 'ledger' });
    await recordMetrics(tick, 0, 'failed');
    return refused(error);
  } finally {
    await lock.release();
  }
}

async function runWithDeadline<C>(
  definition: JobDefinition<C>,
  runtime: Runtime,
  attempt: { logger: Runtime['logger']; tick: Tick; attempt: number },
  config: C,
) {
  return runWithTimeout(definition.spec.timeoutMs, (abortSignal) =>
    definition.run(
      {
        spec: definition.spec,
        db: runtime.db(),
        clock: runtime.clock,
        logger: attempt.logger,
        abortSignal,
        tick: attempt.tick,
        attempt: attempt.attempt,
        adapters: runtime.adapters(),
        secrets: runtime.secrets,
      },
      config,
    ),
  );
}
