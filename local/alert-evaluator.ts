/**
 * The alert evaluator of the local fleet: every half minute it reads the run ledger, adds what the
 * local scheduler saw outside it (failed attempts and refusals, local/outside-signals.ts), judges
 * every alert rule with the same code the watchdog and the simulator use, reports each alert that
 * starts or stops firing, and keeps the current verdicts for the status page.
 */
import { evaluate, lookbackMs } from '../functions/alerts/evaluate';
import type { Verdict } from '../functions/alerts/evaluate';
import { ALERT_RULES } from '../functions/alerts/rules';
import { loadSnapshot } from '../functions/alerts/snapshot';
import { AlertState } from '../functions/alerts/transitions';
import type { Transition } from '../functions/alerts/transitions';
import type { Db } from '../functions/core/db';
import { describeError } from '../functions/core/errors';
import type { JobSpec } from '../functions/core/job-spec';
import { WATCHDOG_JOB_ID } from '../functions/jobs/fleet-watchdog/run';
import type { OutsideSnapshot } from './outside-signals';

export interface AlertReport {
  readonly evaluatedAt: string | null;
  readonly firing: readonly Verdict[];
  readonly error: string | null;
}

export interface AlertEvaluator {
  report(): AlertReport;
  /** Evaluates now (also what the timer does); resolves when done. */
  evaluateNow(): Promise<void>;
  stop(): void;
}

export function startAlertEvaluator(options: {
  db: Db;
  jobs: readonly JobSpec[];
  intervalMs: number;
  onTransition: (transition: Transition, at: Date) => void;
  /** Scheduler failures and refusals up to `at`, which the ledger cannot show. */
  outside?: (at: Date) => OutsideSnapshot;
  now?: () => Date;
}): AlertEvaluator {
  const now = options.now ?? (() => new Date());
  const state = new AlertState();
  let evaluatedAt: Date | null = null;
  let error: string | null = null;
  let running: Promise<void> | undefined;

  const evaluateNow = () =>
    (running ??= (async () => {
      const at = now();
      try {
        const snapshot = await loadSnapshot(options.db, options.jobs, at, {
          lookbackMs: lookbackMs(ALERT_RULES),
          excludedFromActivity: [WATCHDOG_JOB_ID],
        });
        const seen = { ...snapshot, ...options.outside?.(at) };
        for (const transition of state.update(evaluate(ALERT_RULES, seen)))
          options.onTransition(transition, at);
        evaluatedAt = at;
        error = null;
      } catch (cause) {
        error = `alerts could not be evaluated: ${describeError(cause)}`;
      }
    })().finally(() => {
      running = undefined;
    }));

  const timer = setInterval(() => void evaluateNow(), options.intervalMs);
  timer.unref();
  return {
    report: () => ({ evaluatedAt: evaluatedAt?.toISOString() ?? null, firing: state.current(), error }),
    evaluateNow,
    stop: () => clearInterval(timer),
  };
}
