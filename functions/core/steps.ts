/**
 * Independent steps: each runs whatever happened to the ones before it; a failing step is recorded
 * and the next one still runs. The attempt fails afterwards (StepsFailedError) naming every failed
 * step, with the counts of those that worked kept as the partial result. Jobs that walk realms use
 * the same mechanism with one step per realm.
 */
import { performance } from 'node:perf_hooks';
import { describeError, StepsFailedError } from './errors';
import type { Logger } from './logger';

export interface Step<T> {
  readonly name: string;
  readonly run: () => Promise<T>;
}

export interface StepReport<T> {
  readonly results: Record<string, T>;
  readonly durationsMs: Record<string, number>;
}

/**
 * Runs the steps in order. Stops early only when `signal` aborts (the attempt timed out): the
 * remaining steps are then not started. Throws StepsFailedError when any step failed; the error's
 * `partial` carries `summarise(report)`.
 */
export async function runSteps<T>(
  steps: readonly Step<T>[],
  options: {
    logger: Logger;
    signal?: AbortSignal;
    summarise: (report: StepReport<T>) => Record<string, unknown>;
  },
): Promise<StepReport<T>> {
  const report: StepReport<T> = { results: {}, durationsMs: {} };
  const failures: { step: string; error: string }[] = [];
  for (const step of steps) {
    options.signal?.throwIfAborted();
    const started = Date.now();
    try {
      report.results[step.name] = await step.run();
    } catch (error) {
      failures.push(stepFailure(step.name, error, options));
    } finally {
      report.durationsMs[step.name] = Date.now() - started;
    }
  }
  if (failures.length > 0) throw new StepsFailedError(failures, options.summarise(report));
  return report;
}

/** A step's share of a time budget: `expired()` turns true when the step should yield. */
export interface Slice {
  readonly expired: () => boolean;
}

/** A step that can stop part-way (its work committed) and be run again to go on. */
export interface SlicedStep<T> {
  readonly name: string;
  readonly run: (slice: Slice) => Promise<{ readonly value: T; readonly complete: boolean }>;
}

export interface SlicedReport<T> extends StepReport<T> {
  /** Steps that yielded with work left when the budget ran out; the next run goes on with them. */
  readonly incomplete: readonly string[];
}

/**
 * Shares `budgetMs` between steps so that a backlog in one never starves the others. Round one
 * runs every step, in order, each with an equal share of what is left of the budget (a step that
 * finishes early leaves its time to those after it); a step always gets at least one batch, so all
 * of them make progress on every run, even past the budget. Later rounds give the time still left
 * to the steps that yielded, again in equal shares, until they finish or the budget is spent.
 * Results of a step's rounds are merged with `combine`. A failed step is recorded (as runSteps
 * does) and not run again; the run then fails naming it.
 */
export async function runStepsInSlices<T>(
  steps: readonly SlicedStep<T>[],
  options: {
    logger: Logger;
    signal?: AbortSignal;
    budgetMs: number;
    combine: (earlier: T, later: T) => T;
    summarise: (report: SlicedReport<T>) => Record<string, unknown>;
    /** Milliseconds from some origin; tests and benchmarks may replace it. */
    now?: () => number;
  },
): Promise<SlicedReport<T>> {
  const now = options.now ?? (() => performance.now());
  const deadline = now() + options.budgetMs;
  const results: Record<string, T> = {};
  const durationsMs: Record<string, number> = {};
  const failures: { step: string; error: string }[] = [];
  let pending = [...steps];
  for (let round = 0; pending.length > 0; round += 1) {
    const yielded: SlicedStep<T>[] = [];
    for (const [index, step] of pending.entries()) {
      options.signal?.throwIfAborted();
      if (round > 0 && now() >= deadline) {
        yielded.push(...pending.slice(index));
        break;
      }
      const sliceEnd = now() + Math.max(0, deadline - now()) / (pending.length - index);
      const started = now();
      try {
        const { value, complete } = await step.run({ expired: () => now() >= sliceEnd });
        results[step.name] = step.name in results ? options.combine(results[step.name], value) : value;
        if (!complete) yielded.push(step);
      } catch (error) {
        failures.push(stepFailure(step.name, error, options));
      } finally {
        durationsMs[step.name] = Math.round((durationsMs[step.name] ?? 0) + now() - started);
      }
    }
    pending = yielded;
    if (now() >= deadline) break;
  }
  const report = { results, durationsMs, incomplete: pending.map((step) => step.name) };
  if (failures.length > 0) throw new StepsFailedError(failures, options.summarise(report));
  return report;
}

/**
 * One step's failure, logged; an abort is not a step's failure but the whole run's, so it is
 * rethrown for the runtime to settle as a timeout.
 */
function stepFailure(
  step: string,
  error: unknown,
  options: { readonly signal?: AbortSignal; readonly logger: Logger },
): { step: string; error: string } {
  if (options.signal?.aborted) throw options.signal.reason;
  options.logger.error(`step ${step} failed: ${describeError(error)}`, { event: 'step_failed', step });
  return { step, error: describeError(error) };
}
