/**
 * Turns the stream of verdicts into what an on-call engineer would have seen: an alert (per job or
 * for the fleet) opening and closing, with the virtual time and the measurement behind it. Only
 * changes are kept; a verdict that stays the same is no news.
 */
import type { Verdict } from '../functions/alerts/evaluate';
import type { AlertId, Severity } from '../functions/alerts/rules';
import { AlertState } from '../functions/alerts/transitions';

export interface Transition {
  readonly atMs: number;
  readonly kind: 'FIRED' | 'RESOLVED';
  readonly alertId: AlertId;
  readonly severity: Severity;
  readonly subject: string;
  readonly value: number;
  readonly detail: string;
}

/**
 * The alert state of functions/alerts/transitions.ts (shared with the local evaluator), with the
 * virtual time of each change and the peak of every measurement.
 */
export class TransitionTracker {
  private readonly state = new AlertState();
  /** The highest value each alert + subject reached, firing or not: how close a call was. */
  private readonly peaks = new Map<string, number>();
  readonly transitions: Transition[] = [];

  observe(atMs: number, verdicts: readonly Verdict[]): Transition[] {
    for (const verdict of verdicts) {
      const key = `${verdict.alertId} ${verdict.subject}`;
      this.peaks.set(key, Math.max(this.peaks.get(key) ?? -Infinity, verdict.value));
    }
    const changes = this.state.update(verdicts).map(({ kind, verdict }): Transition => ({
      atMs,
      kind: kind === 'fired' ? 'FIRED' : 'RESOLVED',
      alertId: verdict.alertId,
      severity: verdict.severity,
      subject: verdict.subject,
      value: verdict.value,
      detail: verdict.detail,
    }));
    this.transitions.push(...changes);
    return changes;
  }

  /** Alerts still open, with their latest verdict. */
  stillFiring(): Verdict[] {
    return this.state.current();
  }

  peak(alertId: AlertId, subject: string): number | undefined {
    return this.peaks.get(`${alertId} ${subject}`);
  }
}

/** Minute precision is what an incident timeline shows; seconds appear when they are not zero. */
export function formatInstant(ms: number): string {
  const text = new Date(ms).toISOString();
  return text.endsWith(':00.000Z') ? text.replace(':00.000Z', 'Z') : text.replace('.000Z', 'Z');
}

export function formatTransition(transition: Transition): string {
  return [
    formatInstant(transition.atMs).padEnd(24),
    transition.kind.padEnd(9),
    transition.alertId.padEnd(23),
    transition.severity.padEnd(9),
    transition.subject.padEnd(16),
    transition.detail,
  ].join(' ');
}

export function formatTimeline(transitions: readonly Transition[]): string {
  if (transitions.length === 0) return 'No alert fired.';
  return transitions.map(formatTransition).join('\n');
}
