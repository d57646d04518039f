/**
 * The execute and settle stages: run the job under its timeout with the lock held, then write the
 * attempt's outcome to the ledger and free the lock. A ledger write that fails does not change the
 * answer (the job did what it did); the outcome carries the write error for the log.
 */
import { performance } from 'node:perf_hooks';
import type { Claimed } from './claim';
import { maxAttempts } from './claim';
import { ConfigError, StepsFailedError, TimeoutError, describeError } from './errors';
import type { JobDefinition } from './job-spec';
import { closeAttempt } from './ledger';
import type { AttemptClose } from './ledger';
import type { Logger } from './logger';
import { redact } from './logger';
import type { Failed, Succeeded } from './outcome';
import type { Runtime } from './runtime';
import type { Tick } from './tick';
import { runWithTimeout } from './timeout';

export interface AttemptContext {
  readonly tick: Tick;
  readonly logger: Logger;
  /** performance.now() when the request arrived: durations count from there. */
  readonly arrivedAt: number;
}

export async function execute<C>(
  definition: JobDefinition<C>,
  runtime: Runtime,
  claimed: Claimed,
  context: AttemptContext,
): Promise<Succeeded | Failed> {
  const { spec } = definition;
  const { tick } = context;
  const { attempt } = claimed;
  try {
    const config = runtime.jobConfig(spec.config);
    const result = await runWithTimeout(spec.timeoutMs, (abortSignal) =>
      definition.run(
        {
          spec,
          db: runtime.db(),
          clock: runtime.clock,
          logger: context.logger,
          abortSignal,
          tick,
          attempt,
          adapters: runtime.adapters(),
          secrets: runtime.secrets,
        },
        config,
      ),
    );
    // The summary leaves the process (answer, ledger), so it is redacted like a log line.
    return { ...ran(claimed, context), kind: 'succeeded', result: redact(result, runtime.secrets) };
  } catch (failure) {
    return {
      ...ran(claimed, context),
      kind: 'failed',
      // Error messages can quote a secret (a key in a URL, a refused credential): scrubbed like logs.
      errors: errorList(failure).map((error) => runtime.secrets.scrub(error)),
      exhausted: attempt >= maxAttempts(spec),
      maxAttempts: maxAttempts(spec),
      timedOutAfterMs: failure instanceof TimeoutError ? spec.timeoutMs : undefined,
      partial: failure instanceof StepsFailedError ? redact(failure.partial, runtime.secrets) : undefined,
    };
  }
}

function ran(claimed: Claimed, context: AttemptContext) {
  return {
    tick: context.tick,
    attempt: claimed.attempt,
    durationMs: Math.round(performance.now() - context.arrivedAt),
  };
}

/** Writes the outcome to the ledger and frees the lock; returns the outcome with any write error. */
export async function settle(
  outcome: Succeeded | Failed,
  claimed: Claimed,
  finishedAt: Date,
): Promise<Succeeded | Failed> {
  const close: AttemptClose =
    outcome.kind === 'succeeded'
      ? {
          ...closing(outcome, claimed, finishedAt),
          state: 'succeeded',
          exhausted: false,
          result: outcome.result,
        }
      : {
          ...closing(outcome, claimed, finishedAt),
          state: 'failed',
          exhausted: outcome.exhausted,
          error: outcome.errors.join('\n'),
          result: outcome.partial,
        };
  try {
    await closeAttempt(claimed.lock.client, close);
    return outcome;
  } catch (error) {
    return { ...outcome, ledgerError: describeError(error) };
  } finally {
    await claimed.lock.release();
  }
}

function closing(outcome: Succeeded | Failed, claimed: Claimed, finishedAt: Date) {
  return { attemptId: claimed.attemptId, finishedAt, durationMs: outcome.durationMs };
}

/** The error list of a failure: one entry per failed step, or the single error. */
export function errorList(error: unknown): string[] {
  if (error instanceof StepsFailedError)
    return error.failures.map((failure) => `${failure.step}: ${failure.error}`);
  if (error instanceof ConfigError) return error.problems.map((problem) => `config: ${problem}`);
  return [describeError(error)];
}
