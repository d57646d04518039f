/**
 * The injected faults, asked two questions: does a request reach the job at this virtual time (the
 * scheduler's side), and how does the job's run behave when it starts at this virtual time (the
 * job's side). Everything else (ledger, lock, retries, alerts) stays real.
 */
import type { Fault, TimeWindow } from './scenario';
import type { Random } from './random';

/** What a simulated run does: finish after a while, throw, or run into its timeout. */
export type RunBehaviour = 'succeed' | 'fail' | 'timeout';

const inside = (window: TimeWindow, atMs: number) => atMs >= window.fromMs && atMs < window.toMs;

export class FaultPlan {
  constructor(private readonly faults: readonly Fault[]) {}

  /** Why no request reaches the job at this time, or undefined when one does. */
  blocked(jobId: string, atMs: number): 'never-deployed' | 'outage' | 'fleet-outage' | undefined {
    for (const fault of this.faults) {
      if (fault.kind === 'never-deployed' && fault.jobId === jobId) return 'never-deployed';
      if (fault.kind === 'fleet-outage' && inside(fault.window, atMs)) return 'fleet-outage';
      if (fault.kind === 'outage' && fault.jobId === jobId && inside(fault.window, atMs)) return 'outage';
    }
    return undefined;
  }

  /** Whether a request made at this time is delivered a second time. */
  duplicated(jobId: string, atMs: number): boolean {
    return this.faults.some(
      (fault) => fault.kind === 'duplicate' && fault.jobId === jobId && inside(fault.window, atMs),
    );
  }

  /** What the platform answers instead of the runtime (no function deployed at the URL). */
  notFound(jobId: string, atMs: number): boolean {
    return this.active(jobId, atMs).some((fault) => fault.kind === 'not-found');
  }

  /** Whether the runtime refuses the caller of a request made at this time. */
  authBroken(jobId: string, atMs: number): boolean {
    return this.active(jobId, atMs).some((fault) => fault.kind === 'auth-broken');
  }

  /** Whether the runtime's database is unreachable at this time. */
  databaseDown(atMs: number): boolean {
    return this.faults.some((fault) => fault.kind === 'database-outage' && inside(fault.window, atMs));
  }

  private active(jobId: string, atMs: number): Fault[] {
    return this.faults.filter(
      (fault) => 'window' in fault && 'jobId' in fault && fault.jobId === jobId && inside(fault.window, atMs),
    );
  }

  /**
   * How an attempt that starts at this time behaves. A timeout wins over a failure (it is the
   * stronger fault: it also costs the run's whole timeout), and a certain failure over a
   * probable one. The PRNG is drawn only when a fail-rate applies, so adding such a fault to
   * one window leaves every other draw of the job where it was.
   */
  behaviour(jobId: string, atMs: number, random: Random, lastAttempt = false): RunBehaviour {
    const active = this.active(jobId, atMs);
    if (active.some((fault) => fault.kind === 'timeout')) return 'timeout';
    if (active.some((fault) => fault.kind === 'fail')) return 'fail';
    for (const fault of active) {
      if (fault.kind === 'fail-rate' && random() < fault.probability) return 'fail';
      if (fault.kind === 'flaky' && !lastAttempt && random() < fault.probability) return 'fail';
    }
    return 'succeed';
  }
}
