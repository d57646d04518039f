/**
 * What one request came to. The pipeline (handler.ts) returns exactly one Outcome; report.ts turns
 * it into the log line, the metrics and the HTTP answer, so each exit pairs them in one place.
 *
 * Cloud Scheduler treats any 2xx as success and retries anything else, so 2xx is reserved for a
 * success or a deliberate skip; every failure, and every tick that still has to run, is non-2xx.
 */
import type { RefusalReason } from './signals';
import type { Tick } from './tick';
import type { JobResult } from './job-spec';

/** Refused before anything was claimed: nothing ran and the ledger has no trace of it. */
export interface Refused {
  readonly kind: 'refused';
  readonly reason: RefusalReason;
  readonly status: 400 | 401 | 403 | 404 | 405 | 413 | 500;
  readonly error: string;
  /** Extra answer headers (Allow for a 405). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The ledger or the lock could not be reached; nothing ran. */
export interface Unavailable {
  readonly kind: 'unavailable';
  readonly tick: Tick;
  readonly error: string;
  /** When the failure came after the job's own attempt was opened, that attempt's number. */
  readonly attempt: number;
}

/** Another request holds the lock and runs this very tick (or may be: its tick is not known yet). */
export interface InProgress {
  readonly kind: 'in_progress';
  readonly tick: Tick;
  readonly reason: string;
}

/** Another tick runs; this one is covered by the next tick (skippedTick 'covered-by-next'). */
export interface Skipped {
  readonly kind: 'skipped';
  readonly tick: Tick;
  readonly reason: string;
}

/** Another tick runs; this one must run itself (skippedTick 'must-run'), so it is retried later. */
export interface Deferred {
  readonly kind: 'deferred';
  readonly tick: Tick;
  readonly reason: string;
  /** The scheduler attempt this deferral used up; 0 when the tick had already succeeded. */
  readonly attempt: number;
  readonly exhausted: boolean;
}

/** The tick already succeeded; nothing ran. */
export interface Duplicate {
  readonly kind: 'duplicate';
  readonly tick: Tick;
  readonly succeededAt: Date;
}

interface Ran {
  readonly tick: Tick;
  readonly attempt: number;
  readonly durationMs: number;
  /** Set when the outcome could not be written to the ledger (the answer stands regardless). */
  readonly ledgerError?: string;
}

export interface Succeeded extends Ran {
  readonly kind: 'succeeded';
  readonly result: JobResult;
}

export interface Failed extends Ran {
  readonly kind: 'failed';
  /** One entry per failed step, or the single error; secrets scrubbed. */
  readonly errors: readonly string[];
  readonly exhausted: boolean;
  /** The tick's allowed attempts (retryCount + 1). */
  readonly maxAttempts: number;
  readonly timedOutAfterMs?: number;
  /** What the steps that did run achieved. */
  readonly partial?: JobResult;
}

export type Outcome =
  Refused | Unavailable | InProgress | Skipped | Deferred | Duplicate | Succeeded | Failed;

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}
