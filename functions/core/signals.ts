/**
 * Heartbeats and attempt metrics leave the runtime through this narrow interface. The Cloud
 * Monitoring implementation lives in adapters/; here are the contract, a local in-memory sink
 * (npm start, tests) and the guard that makes any sink's failure a warning, never a job failure.
 */
import type { Logger } from './logger';

/** What Cloud Monitoring and the alerts see of an attempt. Duplicates count as skipped. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'skipped';

export interface AttemptStarted {
  readonly jobId: string;
  readonly tickId: string;
  readonly attempt: number;
  readonly startedAt: Date;
}

export interface AttemptFinished extends AttemptStarted {
  readonly outcome: AttemptOutcome;
  readonly finishedAt: Date;
  readonly durationMs: number;
  /** The tick failed on its last allowed retry. */
  readonly exhausted: boolean;
}

/**
 * Why a request was refused before the job ran (the refused_requests metric's reason label):
 * auth (token), method (405), path (404), body (413), tick (a schedule time that is not a due tick
 * of the job's cron), misconfigured (this instance cannot judge the request).
 */
export type RefusalReason = 'auth' | 'method' | 'path' | 'body' | 'tick' | 'misconfigured';

export interface RequestRefused {
  readonly jobId: string;
  readonly reason: RefusalReason;
  readonly at: Date;
}

export interface SignalSink {
  attemptStarted(attempt: AttemptStarted): Promise<void>;
  attemptFinished(attempt: AttemptFinished): Promise<void>;
  requestRefused(refusal: RequestRefused): Promise<void>;
}

/** Per-job tallies kept in memory for the local status page. */
export interface JobTally {
  started: number;
  succeeded: number;
  failed: number;
  skipped: number;
  exhausted: number;
  /** Requests refused before the job ran, by reason. */
  refused: Partial<Record<RefusalReason, number>>;
  lastSuccessAt?: string;
  lastFinished?: AttemptFinished;
}

export class LocalSignalSink implements SignalSink {
  readonly tallies = new Map<string, JobTally>();
  readonly finished: AttemptFinished[] = [];

  constructor(private readonly keep = 1000) {}

  private tally(jobId: string): JobTally {
    let tally = this.tallies.get(jobId);
    if (!tally) {
      tally = { started: 0, succeeded: 0, failed: 0, skipped: 0, exhausted: 0, refused: {} };
      this.tallies.set(jobId, tally);
    }
    return tally;
  }

  async attemptStarted(attempt: AttemptStarted): Promise<void> {
    this.tally(attempt.jobId).started += 1;
  }

  async attemptFinished(attempt: AttemptFinished): Promise<void> {
    const tally = this.tally(attempt.jobId);
    tally[attempt.outcome] += 1;
    if (attempt.exhausted) tally.exhausted += 1;
    if (attempt.outcome === 'succeeded') tally.lastSuccessAt = attempt.finishedAt.toISOString();
    tally.lastFinished = attempt;
    this.finished.push(attempt);
    if (this.finished.length > this.keep) this.finished.splice(0, this.finished.length - this.keep);
  }

  async requestRefused(signal: RequestRefused): Promise<void> {
    const refused = this.tally(signal.jobId).refused;
    refused[signal.reason] = (refused[signal.reason] ?? 0) + 1;
  }
}

export const discardSignals: SignalSink = {
  attemptStarted: async () => undefined,
  attemptFinished: async () => undefined,
  requestRefused: async () => undefined,
};

/** A sink whose failures are logged as warnings and swallowed: metrics never fail a job. */
export function guarded(sink: SignalSink, logger: Logger): SignalSink {
  const warn = (error: unknown, attempt: { jobId: string }) =>
    logger.warn('could not record job metrics; the job outcome is unaffected', {
      event: 'metrics_write_failed',
      job: attempt.jobId,
      error: (error as Error)?.message ?? String(error),
    });
  // Called inside a promise chain so that a sink which throws before returning a promise is caught
  // too; otherwise the throw would escape into the handler and fail the attempt.
  return {
    attemptStarted: (attempt) =>
      Promise.resolve()
        .then(() => sink.attemptStarted(attempt))
        .catch((error) => warn(error, attempt)),
    attemptFinished: (attempt) =>
      Promise.resolve()
        .then(() => sink.attemptFinished(attempt))
        .catch((error) => warn(error, attempt)),
    requestRefused: (refusal) =>
      Promise.resolve()
        .then(() => sink.requestRefused(refusal))
        .catch((error) => warn(error, refusal)),
  };
}
