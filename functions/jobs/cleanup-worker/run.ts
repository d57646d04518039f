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

export async function runCleanup(context: JobContext, config: CleanupConfig): Promise<JobResult> {
  // Kept outside the step results so that a failed step 9 still reports the versions it destroyed:
  // the ledger's partial result is then the record of which KMS versions are gone.
  const destroyedKeyVersions: string[] = [];
  const summarise = (report: StepReport<StepOutcome>): Record<string, unknown> => {
    const purged: Record<string, number> = {};
    for (const [step, outcome] of Object.entries(report.results)) purged[step] = outcome.count;
    return { purged, destroyedKeyVersions: [...destroyedKeyVersions], stepDurationsMs: report.durationsMs };
  };
  const steps = cleanupSteps(context, config, {
    keyVersionDestroyed: (name) => destroyedKeyVersions.push(name),
  });
  return summarise(await runSteps(steps, { logger: context.logger, signal: context.signal, summarise }));
}
