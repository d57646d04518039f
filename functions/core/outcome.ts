/**
 * How an attempt's outcome becomes an HTTP answer. Cloud Scheduler treats any 2xx as success and
 * retries anything else, so 2xx is reserved for a success or a deliberate skip; every failure is
 * non-2xx. Bodies are small JSON documents an operator can read in the scheduler's log.
 */
import { AuthError, ConfigError, StepsFailedError, TimeoutError, describeError } from './errors';
import { TickError } from './tick';

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export function succeeded(fields: Record<string, unknown>): Answer {
  return { status: 200, body: { ok: true, status: 'succeeded', ...fields } };
}

export function skipped(reason: string, fields: Record<string, unknown>): Answer {
  return { status: 200, body: { ok: true, status: 'skipped', reason, ...fields } };
}

export function duplicate(fields: Record<string, unknown>): Answer {
  return { status: 200, body: { ok: true, status: 'duplicate', ...fields } };
}

/**
 * The same tick is running right now elsewhere. Not a success yet, so not 2xx: a scheduler retry
 * later either finds it succeeded (and gets a duplicate 200) or runs it again.
 */
export function inProgress(fields: Record<string, unknown>): Answer {
  return { status: 409, body: { ok: false, status: 'in_progress', ...fields } };
}

/** The error list of a failure: one entry per failed step, or the single error. */
export function errorList(error: unknown): string[] {
  if (error instanceof StepsFailedError)
    return error.failures.map((failure) => `${failure.step}: ${failure.error}`);
  if (error instanceof ConfigError) return error.problems.map((problem) => `config: ${problem}`);
  return [describeError(error)];
}

export function failed(
  error: unknown,
  fields: Record<string, unknown>,
  errors: readonly string[] = errorList(error),
): Answer {
  return {
    status: error instanceof TimeoutError ? 504 : 500,
    body: { ok: false, status: 'failed', errors, ...fields },
  };
}

/** Failures before a job could start: authentication, a malformed request, an unreachable database. */
export function refused(error: unknown): Answer {
  if (error instanceof AuthError)
    return { status: error.status, body: { ok: false, status: 'rejected', error: error.message } };
  if (error instanceof TickError)
    return { status: 400, body: { ok: false, status: 'rejected', error: error.message } };
  return {
    status: 503,
    body: {
      ok: false,
      status: 'unavailable',
      error: `the run ledger is unavailable: ${describeError(error)}`,
    },
  };
}
