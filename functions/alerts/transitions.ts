/**
 * Alert state over time: which verdicts started or stopped firing between two evaluations. The
 * local evaluator logs these, and the simulator prints them as its timeline.
 */
import type { Verdict } from './evaluate';

export interface Transition {
  readonly kind: 'fired' | 'resolved';
  readonly verdict: Verdict;
}

const keyOf = (verdict: Verdict) => `${verdict.alertId}|${verdict.subject}`;

export class AlertState {
  private readonly firing = new Map<string, Verdict>();

  /** Feeds one evaluation; returns what changed since the previous one. */
  update(verdicts: readonly Verdict[]): Transition[] {
    const transitions: Transition[] = [];
    const seen = new Set<string>();
    for (const verdict of verdicts) {
      const key = keyOf(verdict);
      seen.add(key);
      if (verdict.holds) continue;
      if (verdict.firing && !this.firing.has(key)) transitions.push({ kind: 'fired', verdict });
      if (!verdict.firing && this.firing.has(key)) transitions.push({ kind: 'resolved', verdict });
      if (verdict.firing) this.firing.set(key, verdict);
      else this.firing.delete(key);
    }
    // A subject that disappeared from the evaluation (a job removed from the catalog) resolves.
    for (const [key, verdict] of [...this.firing]) {
      if (!seen.has(key)) {
        this.firing.delete(key);
        transitions.push({ kind: 'resolved', verdict: { ...verdict, firing: false } });
      }
    }
    return transitions;
  }

  current(): Verdict[] {
    return [...this.firing.values()];
  }
}
