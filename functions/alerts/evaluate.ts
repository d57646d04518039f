/**
 * The verdict of every alert rule over a snapshot of the fleet: pure, so the local evaluator, the
 * watchdog's gauges and the time-travel simulator all judge the same way Cloud Monitoring's
 * policies are built to.
 */
import type { AttemptOutcome } from '../core/signals';
import type { AlertId, AlertRule, Severity } from './rules';

export interface FinishedAttempt {
  readonly jobId: string;
  readonly outcome: AttemptOutcome;
  readonly finishedAt: Date;
  readonly exhausted: boolean;
}

export interface JobProgress {
  readonly jobId: string;
  readonly windowMs: number;
  readonly lastSuccessAt?: Date;
  /** Since when the job has been expected to run (first seen in the catalog by the watchdog). */
  readonly expectedSince: Date;
  /** Attempts recorded as running past their deadline. */
  readonly overdueAttempts: number;
}

export interface FleetSnapshot {
  readonly now: Date;
  readonly jobs: readonly JobProgress[];
  /** Finished attempts within the longest look-back any rule needs. */
  readonly attempts: readonly FinishedAttempt[];
  /** When any job (other than the watchdog) last finished an attempt, if ever. */
  readonly lastActivityAt?: Date;
}

export interface Verdict {
  readonly alertId: AlertId;
  readonly severity: Severity;
  /** The job id for per-job rules, "fleet" otherwise. */
  readonly subject: string;
  readonly firing: boolean;
  /** The measured value the rule compared (a ratio, seconds idle, ...). */
  readonly value: number;
  /**
   * Too little data to change the alert's state either way (an empty window, or a breach measured
   * on fewer attempts than the rule needs): a firing alert keeps firing, a quiet one stays quiet,
   * as a Cloud Monitoring incident does while its condition has no data.
   */
  readonly holds?: boolean;
  readonly detail: string;
}

/** Time since last success (or since expected) over the window; above 1 the job is late. */
export function forwardProgressRatio(job: JobProgress, now: Date): number {
  const since = job.lastSuccessAt ?? job.expectedSince;
  return Math.max(0, now.getTime() - since.getTime()) / job.windowMs;
}

/** Seconds since any counted job last finished an attempt, or undefined without recent history. */
export function fleetIdleSeconds(snapshot: FleetSnapshot, historyMs: number): number | undefined {
  const last = snapshot.lastActivityAt?.getTime();
  if (last === undefined || last < snapshot.now.getTime() - historyMs) return undefined;
  return Math.max(0, snapshot.now.getTime() - last) / 1000;
}

const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export function evaluate(rules: readonly AlertRule[], snapshot: FleetSnapshot): Verdict[] {
  const verdicts: Verdict[] = [];
  const now = snapshot.now.getTime();
  for (const rule of rules) {
    const base = { alertId: rule.id, severity: rule.severity };
    const condition = rule.condition;
    switch (condition.kind) {
      case 'forward-progress':
        for (const job of snapshot.jobs) {
          const ratio = forwardProgressRatio(job, snapshot.now);
          const since = job.lastSuccessAt
            ? `last success ${job.lastSuccessAt.toISOString()}`
            : `no success since it was first expected at ${job.expectedSince.toISOString()}`;
          verdicts.push({
            ...base,
            subject: job.jobId,
            firing: ratio > 1,
            value: ratio,
            detail: `${since}; window ${minutes(job.windowMs)}`,
          });
        }
        break;
      case 'exhausted': {
        const recent = snapshot.attempts.filter(
          (a) => a.exhausted && a.finishedAt.getTime() > now - condition.windowMs,
        );
        for (const job of snapshot.jobs) {
          const count = recent.filter((attempt) => attempt.jobId === job.jobId).length;
          verdicts.push({
            ...base,
            subject: job.jobId,
            firing: count > 0,
            value: count,
            detail: `${count} exhausted tick(s) in the last ${minutes(condition.windowMs)}`,
          });
        }
        break;
      }
      case 'ratio': {
        const inWindow = snapshot.attempts.filter(
          (attempt) => attempt.finishedAt.getTime() > now - condition.windowMs,
        );
        const denominator = inWindow.filter((attempt) =>
          condition.denominator.includes(attempt.outcome),
        ).length;
        const numerator = inWindow.filter((attempt) => condition.numerator.includes(attempt.outcome)).length;
        const ratio =
          denominator === 0 ? (condition.comparison === 'above' ? 0 : 1) : numerator / denominator;
        const enough = denominator >= condition.minAttempts;
        const breached =
          condition.comparison === 'above' ? ratio > condition.threshold : ratio < condition.threshold;
        // Firing needs minAttempts; clearing needs only some attempt on the right side, so a sparse
        // fleet neither pages on one failure nor flaps between the ticks of a failing job.
        verdicts.push({
          ...base,
          subject: 'fleet',
          firing: enough && breached,
          holds: denominator === 0 || (breached && !enough),
          value: ratio,
          detail: `${numerator}/${denominator} attempts (${percent(ratio)}) in the last ${minutes(condition.windowMs)}; threshold ${condition.comparison} ${percent(condition.threshold)}${enough ? '' : `; fewer than ${condition.minAttempts} attempts, too few to fire`}`,
        });
        break;
      }
      case 'stalled': {
        const idle = fleetIdleSeconds(snapshot, condition.historyMs);
        verdicts.push({
          ...base,
          subject: 'fleet',
          firing: idle !== undefined && idle * 1000 > condition.idleMs,
          value: idle ?? 0,
          detail:
            idle === undefined
              ? 'no attempts in the recent history; nothing to stall'
              : `last attempt finished ${Math.round(idle)} s ago; limit ${minutes(condition.idleMs)}`,
        });
        break;
      }
    }
  }
  return verdicts;
}

/** How far back a snapshot must load finished attempts for the rate and exhaustion rules. */
export function lookbackMs(rules: readonly AlertRule[]): number {
  return Math.max(
    0,
    ...rules.map((rule) => {
      const condition = rule.condition;
      return condition.kind === 'ratio' || condition.kind === 'exhausted' ? condition.windowMs : 0;
    }),
  );
}
