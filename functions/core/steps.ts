/**
 * Independent steps: each runs whatever happened to the ones before it; a failing step is recorded
 * and the next one still runs. The attempt fails afterwards (StepsFailedError) naming every failed
 * step, with the counts of those that worked kept as the partial result. Jobs that walk realms use
 * the same mechanism with one step per realm.
 */
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
      if (options.signal?.aborted) throw options.signal.reason;
      failures.push({ step: step.name, error: describeError(error) });
      options.logger.error(`step ${step.name} failed: ${describeError(error)}`, {
        event: 'step_failed',
        step: step.name,
      });
    } finally {
      report.durationsMs[step.name] = Date.now() - started;
    }
  }
  if (failures.length > 0) throw new StepsFailedError(failures, options.summarise(report));
  return report;
}
