/**
 * cleanup-worker: retention for the verification server's tables (enx-jobs.md §3). Runs all 19
 * steps; a failing step is reported and the rest still run.
 */
import type { JobContext, JobResult } from '../../core/job-spec';
import { runSteps } from '../../core/steps';
import type { StepReport } from '../../core/steps';
import type { CleanupConfig } from './config';
import { cleanupSteps } from './steps';
import type { StepOutcome } from './steps';

function summarise(report: StepReport<StepOutcome>): Record<string, unknown> {
  const purged: Record<string, number> = {};
  for (const [step, outcome] of Object.entries(report.results)) purged[step] = outcome.count;
  const destroyed = report.results.TOKEN_SIGNING_KEY?.destroyed ?? [];
  return { purged, destroyedKeyVersions: destroyed, stepDurationsMs: report.durationsMs };
}

export async function runCleanup(context: JobContext, config: CleanupConfig): Promise<JobResult> {
  const report = await runSteps(cleanupSteps(context, config), {
    logger: context.logger,
    signal: context.signal,
    summarise,
  });
  return summarise(report);
}
