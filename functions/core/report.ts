/**
 * The one place an Outcome becomes what the world sees of it: the log line(s), the metrics and the
 * HTTP answer. Each kind of outcome is one entry below, so a log event, its metric and its status
 * code can never drift apart.
 */
import { performance } from 'node:perf_hooks';
import type { AbandonedAttempt } from './ledger';
import type { Logger } from './logger';
import type { Answer, Failed, Outcome } from './outcome';
import type { AttemptOutcome, SignalSink } from './signals';

export interface ReportContext {
  readonly jobId: string;
  /** The attempt's logger (labels: job, execution, tick and attempt once known). */
  readonly logger: Logger;
  readonly sink: SignalSink;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** performance.now() when the request arrived. */
  readonly arrivedAt: number;
}

type Metric = { readonly outcome: AttemptOutcome; readonly attempt: number; readonly exhausted?: boolean };

interface Parts {
  readonly log: (logger: Logger) => void;
  /** The attempt metric; undefined for a refusal, which is counted as refused instead. */
  readonly metric?: Metric;
  readonly answer: Answer;
}

export async function report(outcome: Outcome, context: ReportContext): Promise<Answer> {
  const parts = describe(outcome, context.jobId);
  parts.log(context.logger);
  if (outcome.kind === 'refused') {
    await context.sink.requestRefused({
      jobId: context.jobId,
      reason: outcome.reason,
      at: context.finishedAt,
    });
  } else if (parts.metric) {
    await context.sink.attemptFinished({
      jobId: context.jobId,
      tickId: outcome.tick.id,
      attempt: parts.metric.attempt,
      startedAt: context.startedAt,
      finishedAt: context.finishedAt,
      durationMs: performance.now() - context.arrivedAt,
      outcome: parts.metric.outcome,
      exhausted: parts.metric.exhausted ?? false,
    });
  }
  return parts.answer;
}

function describe(outcome: Outcome, job: string): Parts {
  switch (outcome.kind) {
    case 'refused':
      return {
        log: (logger) =>
          logger.warn(`request refused: ${outcome.error}`, {
            event: 'rejected',
            reason: outcome.reason,
            status: outcome.status,
          }),
        answer: {
          status: outcome.status,
          body: { ok: false, status: 'rejected', reason: outcome.reason, error: outcome.error },
          headers: outcome.headers,
        },
      };
    case 'unavailable':
      return {
        log: (logger) => logger.error(outcome.error, { event: 'failed', stage: 'ledger' }),
        metric: { outcome: 'failed', attempt: outcome.attempt },
        answer: {
          status: 503,
          body: {
            ok: false,
            status: 'unavailable',
            error: `the run ledger is unavailable: ${outcome.error}`,
          },
        },
      };
    case 'in_progress':
      return nonRun(outcome.reason, 'duplicate', 409, {
        ok: false,
        status: 'in_progress',
        job,
        tick: outcome.tick.id,
        reason: outcome.reason,
      });
    case 'skipped':
      return nonRun(`skipped: ${outcome.reason}`, 'skipped', 200, {
        ok: true,
        status: 'skipped',
        reason: outcome.reason,
        job,
        tick: outcome.tick.id,
      });
    case 'deferred':
      return deferred(outcome, job);
    case 'duplicate':
      return {
        log: (logger) =>
          logger.notice('duplicate request: this tick already succeeded; nothing was run', {
            event: 'duplicate',
            succeededAt: outcome.succeededAt.toISOString(),
          }),
        metric: { outcome: 'skipped', attempt: 0 },
        answer: {
          status: 200,
          body: {
            ok: true,
            status: 'duplicate',
            job,
            tick: outcome.tick.id,
            succeededAt: outcome.succeededAt.toISOString(),
          },
        },
      };
    case 'succeeded':
      return succeeded(outcome, job);
    case 'failed':
      return failed(outcome, job);
  }
}

function nonRun(message: string, event: string, status: number, body: Record<string, unknown>): Parts {
  return {
    log: (logger) =>
      logger.notice(event === 'duplicate' ? `duplicate request: ${message}` : message, { event }),
    metric: { outcome: 'skipped', attempt: 0 },
    answer: { status, body },
  };
}

function deferred(outcome: Extract<Outcome, { kind: 'deferred' }>, job: string): Parts {
  const { tick, reason, attempt, exhausted } = outcome;
  return {
    log: (logger) => {
      logger.notice(`deferred: ${reason}`, { event: 'deferred', attempt, exhausted });
      if (exhausted)
        logger.error(`tick ${tick.id} exhausted its retries: its last attempt met another running tick`, {
          event: 'exhausted',
        });
    },
    metric: { outcome: 'skipped', attempt, exhausted },
    answer: {
      status: 409,
      body: { ok: false, status: 'deferred', reason, job, tick: tick.id, attempt, exhausted },
    },
  };
}

function succeeded(outcome: Extract<Outcome, { kind: 'succeeded' }>, job: string): Parts {
  const { tick, attempt, durationMs, result } = outcome;
  return {
    log: (logger) => {
      if (outcome.ledgerError)
        logger.error(`job succeeded but the ledger could not record it: ${outcome.ledgerError}`, {
          event: 'ledger_write_failed',
        });
      logger.info('job succeeded', { event: 'succeeded', durationMs, result });
    },
    metric: { outcome: 'succeeded', attempt },
    answer: {
      status: 200,
      body: { ok: true, status: 'succeeded', job, tick: tick.id, attempt, durationMs, result },
    },
  };
}

function failed(outcome: Failed, job: string): Parts {
  const { tick, attempt, durationMs, errors, exhausted, partial } = outcome;
  return {
    log: (logger) => logFailure(logger, outcome),
    metric: { outcome: 'failed', attempt, exhausted },
    answer: {
      status: outcome.timedOutAfterMs === undefined ? 500 : 504,
      body: {
        ok: false,
        status: 'failed',
        errors,
        job,
        tick: tick.id,
        attempt,
        durationMs,
        exhausted,
        result: partial,
      },
    },
  };
}

function logFailure(logger: Logger, outcome: Failed): void {
  const { tick, attempt, durationMs, errors, exhausted, partial } = outcome;
  if (outcome.ledgerError)
    logger.error(`the ledger could not record the failure: ${outcome.ledgerError}`, {
      event: 'ledger_write_failed',
    });
  if (outcome.timedOutAfterMs !== undefined)
    logger.error(`job timed out after ${outcome.timedOutAfterMs} ms`, { event: 'timed_out', durationMs });
  logger.error(`job failed: ${errors.join('; ')}`, {
    event: 'failed',
    errors,
    durationMs,
    exhausted,
    result: partial,
  });
  if (exhausted)
    logger.error(
      `tick ${tick.id} exhausted its retries: attempt ${attempt} of ${outcome.maxAttempts} failed`,
      {
        event: 'exhausted',
      },
    );
}

/**
 * Attempts whose instance died, found when the lock was taken: each is logged and counted as a
 * failed attempt, once, as soon as it is found (before this request's own outcome).
 */
export async function reportAbandoned(
  abandoned: readonly AbandonedAttempt[],
  context: Pick<ReportContext, 'jobId' | 'logger' | 'sink' | 'startedAt'>,
): Promise<void> {
  for (const orphan of abandoned) {
    context.logger.error('an earlier attempt was abandoned: its instance stopped before finishing', {
      event: 'abandoned',
      abandoned: orphan,
    });
    if (orphan.exhausted)
      context.logger.error(`tick ${orphan.tickId} exhausted its retries`, { event: 'exhausted' });
    await context.sink.attemptFinished({
      jobId: context.jobId,
      tickId: orphan.tickId,
      attempt: orphan.attempt,
      startedAt: orphan.startedAt,
      finishedAt: context.startedAt,
      durationMs: context.startedAt.getTime() - orphan.startedAt.getTime(),
      outcome: 'failed',
      exhausted: orphan.exhausted,
    });
  }
}
