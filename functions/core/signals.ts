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
  attemptStarted(signal: AttemptStarted): Promise<void>;
  attemptFinished(signal: AttemptFinished): Promise<void>;
  requestRefused(signal: RequestRefused): Promise<void>;
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

  async attemptStarted(signal: AttemptStarted): Promise<void> {
    this.tally(signal.jobId).started += 1;
  }

  async attemptFinished(signal: AttemptFinished): Promise<void> {
    const tally = this.tally(signal.jobId);
    tally[signal.outcome] += 1;
    if (signal.exhausted) tally.exhausted += 1;
    if (signal.outcome === 'succeeded') tally.lastSuccessAt = signal.finishedAt.toISOString();
    tally.lastFinished = signal;
    this.finished.push(signal);
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

/** Sends to several sinks; used when local mode wants both the tallies and another sink. */
export function fanOut(...sinks: SignalSink[]): SignalSink {
  return {
    attemptStarted: async (signal) =>
      void (await Promise.all(sinks.map((sink) => sink.attemptStarted(signal)))),
    attemptFinished: async (signal) =>
      void (await Promise.all(sinks.map((sink) => sink.attemptFinished(signal)))),
    requestRefused: async (signal) =>
      void (await Promise.all(sinks.map((sink) => sink.requestRefused(signal)))),
  };
}

/** A sink whose failures are logged as warnings and swallowed: metrics never fail a job. */
export function guarded(sink: SignalSink, logger: Logger): SignalSink {
  const warn = (error: unknown, signal: { jobId: string }) =>
    logger.warn('could not record job metrics; the job outcome is unaffected', {
      event: 'metrics_write_failed',
      job: signal.jobId,
      error: (error as Error)?.message ?? String(error),
    });
  // Called inside a promise chain so that a sink which throws before returning a promise is caught
  // too; otherwise the throw would escape into the handler and fail the attempt.
  return {
    attemptStarted: (signal) =>
      Promise.resolve()
        .then(() => sink.attemptStarted(signal))
        .catch((error) => warn(error, signal)),
    attemptFinished: (signal) =>
      Promise.resolve()
        .then(() => sink.attemptFinished(signal))
        .catch((error) => warn(error, signal)),
    requestRefused: (signal) =>
      Promise.resolve()
        .then(() => sink.requestRefused(signal))
        .catch((error) => warn(error, signal)),
  };
}
