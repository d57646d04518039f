/**
 * cleanup-worker: retention for the verification server's tables (enx-jobs.md §3). Runs all 20
 * steps; a failing step is reported and the rest still run.
 *
 * The original ran the steps one after the other from step 1 on every tick, so a backlog in the
 * first steps (after an outage, or a shortened retention) used up the timeout tick after tick and
 * the later ones (token-key destruction, the user-report and ledger purges) never ran. Here the
 * steps share CLEANUP_TIME_BUDGET in slices (core/steps.ts runStepsInSlices): every step runs on
 * every tick, a step with a backlog yields when its slice is spent and gets whatever time the
 * others leave, and what is left over is the next tick's. A backlog is reported (result
 * `backlogSteps`, a warning), not a failure: the run did its share and the next one goes on.
 */
import { METRICS } from '../../alerts/metrics';
import { cleanupWorker } from '../../catalog';
import type { JobContext, JobResult } from '../../core/job-spec';
import { stepPoints, writeJobMetrics } from '../../core/step-metrics';
import { runStepsInSlices } from '../../core/steps';
import type { SlicedReport } from '../../core/steps';
import type { CleanupConfig } from './config';
import { cleanupSteps } from './steps';
import type { StepOutcome } from './steps';

export async function runCleanup(context: JobContext, config: CleanupConfig): Promise<JobResult> {
  // Kept outside the step results so that a failed step 9 still reports the versions it destroyed:
  // the ledger's partial result is then the record of which KMS versions are gone.
  const destroyedKeyVersions: string[] = [];
  const summarise = (report: SlicedReport<StepOutcome>): Record<string, unknown> => {
    const purged: Record<string, number> = {};
    for (const [step, outcome] of Object.entries(report.results)) purged[step] = outcome.count;
    return {
      purged,
      backlogSteps: [...report.incomplete],
      destroyedKeyVersions: [...destroyedKeyVersions],
      stepDurationsMs: report.durationsMs,
    };
  };
  const steps = cleanupSteps(context, config, {
    keyVersionDestroyed: (name) => destroyedKeyVersions.push(name),
  });
  const report = await runStepsInSlices(steps, {
    logger: context.logger,
    signal: context.abortSignal,
    budgetMs: config.timeBudgetMs,
    combine: (earlier, later) => ({ count: earlier.count + later.count }),
    summarise,
  });
  if (report.incomplete.length > 0) {
    context.logger.warn(
      `backlog left for the next tick in ${report.incomplete.join(', ')}; every step ran, the rest of their rows go on later runs`,
      { event: 'cleanup_backlog', steps: report.incomplete },
    );
  }
  const result = summarise(report);
  const purged = result.purged as Record<string, number>;
  await writeJobMetrics(context, stepPoints(METRICS.cleanupRows, cleanupWorker.id, purged));
  return result;
}
