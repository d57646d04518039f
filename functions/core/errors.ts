/**
 * The few error types of the runtime. Each carries its outcome, so the handler never has to guess
 * what a thrown value means. Messages say what is wrong and what to do next.
 */

/** Bad or missing configuration. Found before any work starts; the attempt fails (HTTP 500). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly scope: string,
    readonly problems: readonly string[],
  ) {
    super(`${scope} configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The request may not run a job (missing, forged, expired or misaddressed token): HTTP 401/403. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    message: string,
    readonly status: 401 | 403 = 401,
  ) {
    super(message);
  }
}

/**
 * One or more independent steps of a job failed. The job still ran every other step; the attempt
 * fails so Cloud Scheduler retries and the alerts see it. `partial` is the result summary of the
 * work that did happen, so the ledger keeps it.
 */
export class StepsFailedError extends Error {
  override readonly name = 'StepsFailedError';
  constructor(
    readonly failures: readonly { step: string; error: string }[],
    readonly partial: Record<string, unknown>,
  ) {
    super(
      `${failures.length} step(s) failed: ${failures.map((failure) => `${failure.step}: ${failure.error}`).join('; ')}`,
    );
  }
}

/** The attempt ran past the job's timeout and was aborted. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(
      `timed out after ${timeoutMs} ms and was aborted; if the job legitimately needs longer, raise its ` +
        `timeoutMs in functions/catalog.ts (and keep it under the scheduler's attempt deadline)`,
    );
  }
}

/** Turns any thrown value into an Error, keeping the original as `cause`. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const error = new Error(typeof value === 'string' ? value : JSON.stringify(value));
  (error as Error & { cause?: unknown }).cause = value;
  return error;
}

/** The message of an error and its causes, one line, for logs and the run ledger. */
export function describeError(value: unknown): string {
  const error = coerceError(value);
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error && !error.message.includes(cause.message)) {
    return `${error.message}: ${describeError(cause)}`;
  }
  return error.message;
}
