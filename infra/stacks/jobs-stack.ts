/**
 * One environment of the fleet: every job of the catalog with its function, scheduler job and
 * accounts, the shared resources, the alert policies of the rules, the dashboard and, per job, an
 * output with its Logs Explorer query and console links.
 */
import type { Construct } from 'constructs';
import { GcsBackend, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { TimeProvider } from '@cdktf/provider-time/lib/provider';
import type { JobSpec } from '../../functions/core/job-spec';
import type { AlertRule } from '../../functions/alerts/rules';
import { Alerting } from '../constructs/alerting';
import { Dashboard } from '../constructs/dashboard';
import { ProjectServices } from '../constructs/project-services';
import { ScheduledJob } from '../constructs/scheduled-job';
import { Shared } from '../constructs/shared';
import {
  BUILDER_ACCOUNT_ID,
  functionConsoleUrl,
  invokerAccountId,
  jobLogQuery,
  logsExplorerUrl,
  runtimeAccountId,
  schedulerLogQuery,
  snake,
} from '../naming';
import type { EnvironmentSettings } from '../settings';

export interface JobsStackProps {
  readonly settings: EnvironmentSettings;
  readonly jobs: readonly JobSpec[];
  readonly rules: readonly AlertRule[];
}

/** Two jobs whose ids cut to the same service account would share an identity: refuse. */
function assertDistinctAccounts(jobs: readonly JobSpec[]): void {
  const owners = new Map<string, string>([[BUILDER_ACCOUNT_ID, 'the function builder']]);
  for (const job of jobs) {
    for (const account of [runtimeAccountId(job.id), invokerAccountId(job.id)]) {
      const owner = owners.get(account);
      if (owner)
        throw new Error(`${job.id} and ${owner} would share the service account ${account}; rename one`);
      owners.set(account, job.id);
    }
  }
}

export class JobsStack extends TerraformStack {
  readonly jobs: readonly ScheduledJob[];
  readonly shared: Shared;
  readonly alerting: Alerting;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, props: JobsStackProps) {
    const { settings } = props;
    super(scope, settings.name);
    assertDistinctAccounts(props.jobs);

    // An explicit backend: the default local one writes an absolute path into cdk.tf.json.
    if (settings.backend.kind === 'gcs') {
      new GcsBackend(this, { bucket: settings.backend.bucket, prefix: settings.backend.prefix });
    } else {
      new LocalBackend(this, { path: settings.backend.path });
    }
    new GoogleProvider(this, 'google', {
      project: settings.projectId,
      region: settings.region,
      defaultLabels: { app: 'enx-jobs', environment: settings.name },
    });

    // time_sleep: waits for IAM grants to propagate before builds and first revisions.
    new TimeProvider(this, 'time');
    const services = new ProjectServices(this, 'apis', { projectId: settings.projectId });
    const dependsOn = services.all;
    this.shared = new Shared(this, 'shared', { settings, dependsOn });
    this.jobs = props.jobs.map(
      (spec) => new ScheduledJob(this, `job-${spec.id}`, { spec, settings, shared: this.shared, dependsOn }),
    );
    this.alerting = new Alerting(this, 'alerting', {
      settings,
      rules: props.rules,
      jobIds: props.jobs.map((job) => job.id),
      dependsOn,
    });
    this.dashboard = new Dashboard(this, 'dashboard', {
      environment: settings.name,
      projectId: settings.projectId,
      jobs: props.jobs,
      rules: props.rules,
      dependsOn: [...dependsOn, ...this.alerting.descriptors],
    });

    for (const job of this.jobs) {
      const id = job.spec.id;
      new TerraformOutput(this, `job_${snake(id)}`, {
        description: `Where to look when ${id} fails.`,
        value: {
          function_url: job.url,
          logs_query: jobLogQuery(id),
          logs_explorer_url: logsExplorerUrl(settings.projectId, jobLogQuery(id)),
          scheduler_logs_query: schedulerLogQuery(id),
          function_console_url: functionConsoleUrl(settings.projectId, settings.region, id),
          runtime_service_account: job.runtimeAccount.email,
          invoker_service_account: job.invokerAccount.email,
        },
      });
    }
  }
}
