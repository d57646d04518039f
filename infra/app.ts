/**
 * The CDKTF app as a function of its settings: one JobsStack per environment, every job of the
 * catalog in each. Tests call buildApp with literal settings and synthesize in memory; main.ts
 * calls it with the settings of the run.
 */
import { App } from 'cdktf';
import type { JobSpec } from '../functions/core/job-spec';
import { catalog } from '../functions/catalog';
import { ALERT_RULES } from '../functions/alerts/rules';
import type { AlertRule } from '../functions/alerts/rules';
import type { InfraSettings } from './settings';
import { JobsStack } from './stacks/jobs-stack';

export interface BuildOptions {
  /** Where `app.synth()` writes; by default the CLI's CDKTF_OUTDIR, else cdktf.out. */
  readonly outdir?: string;
  /** The catalog and rules to deploy; tests may pass others. */
  readonly jobs?: readonly JobSpec[];
  readonly rules?: readonly AlertRule[];
}

export interface BuiltApp {
  readonly app: App;
  readonly stacks: readonly JobsStack[];
}

export function buildApp(settings: InfraSettings, options: BuildOptions = {}): BuiltApp {
  // Stack traces in the synthesized metadata carry absolute paths; the output must not.
  const app = new App({ ...(options.outdir ? { outdir: options.outdir } : {}), stackTraces: false });
  const jobs = options.jobs ?? (catalog as readonly JobSpec[]);
  const rules = options.rules ?? ALERT_RULES;
  const stacks = settings.environments.map(
    (environment) =>
      new JobsStack(app, {
        settings: environment,
        jobs: jobs.filter((job) => !environment.omittedJobs.includes(job.id)),
        rules,
      }),
  );
  return { app, stacks };
}
