/**
 * What the alert rules see outside the run ledger: Cloud Scheduler's failed attempts (the log-based
 * metric enx_jobs/scheduler_failed_attempts, counted from its AttemptFinished log entries) and the
 * runtime's refusals (the refused_requests counter). A request that was refused or never answered
 * leaves no ledger row, so loadSnapshot cannot see either. The local fleet and the simulator both
 * play Cloud Scheduler, so they record both here from the answers their scheduler gets, and hand
 * them to evaluate() with the ledger's snapshot. Kept for the longest look-back of any rule.
 */
import { lookbackMs } from '../functions/alerts/evaluate';
import type { FleetSnapshot, Refusal, SchedulerFailure } from '../functions/alerts/evaluate';
import { ALERT_RULES } from '../functions/alerts/rules';
import type { JobSpec } from '../functions/core/job-spec';
import { attemptStatus } from '../simulator/scheduler-model';

/** An answer as the scheduler got it: an HTTP status and JSON body, or neither. */
export interface SchedulerAnswer {
  readonly status?: number;
  readonly body?: unknown;
}

export type OutsideSnapshot = Pick<FleetSnapshot, 'schedulerFailures' | 'refusals'>;

export class OutsideSignals {
  private failures: SchedulerFailure[] = [];
  private refusals: Refusal[] = [];

  /** `keepMs`: the longest look-back any alert rule needs, unless a test says otherwise. */
  constructor(private readonly keepMs = lookbackMs(ALERT_RULES)) {}

  record(
    spec: Pick<JobSpec, 'id' | 'attemptDeadlineMs'>,
    answer: SchedulerAnswer,
    sentMs: number,
    answeredMs: number,
  ): void {
    const status = attemptStatus(spec, answer.status, answeredMs - sentMs);
    if (status === undefined) return;
    const at = new Date(answeredMs);
    this.failures.push({ jobId: spec.id, status, at });
    const reason = refusalReason(answer);
    if (reason !== undefined) this.refusals.push({ jobId: spec.id, reason, at });
    this.forgetBefore(answeredMs - this.keepMs);
  }

  /** Both kinds, from the keep period before `atMs` up to it. */
  within(atMs: number): OutsideSnapshot {
    const recent = <T extends { at: Date }>(items: readonly T[]) =>
      items.filter((item) => item.at.getTime() > atMs - this.keepMs && item.at.getTime() <= atMs);
    return { schedulerFailures: recent(this.failures), refusals: recent(this.refusals) };
  }

  private forgetBefore(ms: number): void {
    if (this.failures.length > 0 && this.failures[0].at.getTime() <= ms) {
      this.failures = this.failures.filter((item) => item.at.getTime() > ms);
      this.refusals = this.refusals.filter((item) => item.at.getTime() > ms);
    }
  }
}

/**
 * The refused_requests reason of an answer: the runtime names it in the body of every refusal
 * (functions/core/report.ts). An answer the runtime did not give (a 403 from Cloud Run's IAM, a
 * 404 for a function that does not exist) is no refusal of the runtime's.
 */
function refusalReason(answer: SchedulerAnswer): string | undefined {
  const body = answer.body as { status?: unknown; reason?: unknown } | undefined;
  if (body?.status !== 'rejected') return undefined;
  return typeof body.reason === 'string' ? body.reason : 'auth';
}
