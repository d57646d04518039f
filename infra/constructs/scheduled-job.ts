/**
 * One job of the catalog, deployed: its runtime service account (least privilege), its Cloud
 * Functions gen2 function, its own invoker account allowed to call that function only, and the
 * Cloud Scheduler job that calls it with an OIDC token.
 *
 * Addressing: the scheduler calls the function's cloudfunctions.net URL, which is known before the
 * function exists (naming.ts#functionUrl), and signs its token for exactly that audience; the
 * function's OIDC_AUDIENCE is the same string and its OIDC_INVOKER_EMAILS the invoker's address,
 * so the runtime's own token check (behind Cloud Run's IAM check) agrees with the scheduler by
 * construction. A postcondition fails the apply if Google ever serves the function elsewhere.
 */
import { Construct } from 'constructs';
import path from 'node:path';
import type { ITerraformDependable } from 'cdktf';
import { AssetType, TerraformAsset } from 'cdktf';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { KmsCryptoKeyIamMember } from '@cdktf/provider-google/lib/kms-crypto-key-iam-member';
import { KmsKeyRingIamMember } from '@cdktf/provider-google/lib/kms-key-ring-iam-member';
import { Sleep } from '@cdktf/provider-time/lib/sleep';
import type { KmsGrant } from '../../functions/core/job-spec';
import type { JobSpec } from '../../functions/core/job-spec';
import { jobPlainEnv, jobSecrets, providedEnv } from '../job-env';
import { CUSTOM_ROLES, projectRole } from '../custom-roles';
import { functionUrl, invokerAccountId, runtimeAccountId } from '../naming';
import { FUNCTION_CPU, FUNCTION_RUNTIME } from '../runtime-support';
import type { EnvironmentSettings } from '../settings';
import type { Shared } from './shared';
import { IAM_PROPAGATION_WAIT } from './shared';

/**
 * What every job's account needs: its database and its logs. Metrics need nothing more: a function
 * records them in its database, and only the fleet-watchdog, whose catalog roles hold
 * roles/monitoring.metricWriter, writes them to Cloud Monitoring.
 */
export const BASE_JOB_ROLES: readonly string[] = ['roles/cloudsql.client', 'roles/logging.logWriter'];

export interface ScheduledJobProps {
  readonly spec: JobSpec;
  readonly settings: EnvironmentSettings;
  readonly shared: Shared;
  readonly dependsOn: readonly ITerraformDependable[];
}

/** Cloud Scheduler and Cloud Functions take durations as "<seconds>s". */
export function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/** Whole seconds, never below the catalog's attempt deadline. */
export function functionTimeoutSeconds(spec: Pick<JobSpec, 'attemptDeadlineMs'>): number {
  return Math.ceil(spec.attemptDeadlineMs / 1000);
}

export class ScheduledJob extends Construct {
  readonly spec: JobSpec;
  readonly url: string;
  readonly runtimeAccount: ServiceAccount;
  readonly invokerAccount: ServiceAccount;
  readonly function: Cloudfunctions2Function;
  readonly schedulerJob: CloudSchedulerJob;

  constructor(scope: Construct, id: string, props: ScheduledJobProps) {
    super(scope, id);
    const { spec, settings, shared } = props;
    this.spec = spec;
    const dependsOn = [...props.dependsOn];
    const project = settings.projectId;
    this.url = functionUrl(project, settings.region, spec.id);

    this.runtimeAccount = new ServiceAccount(this, 'runtime-account', {
      accountId: runtimeAccountId(spec.id),
      displayName: `enx-jobs ${spec.id}`,
      description: `Runs the ${spec.id} function. ${spec.description}`.slice(0, 256),
      dependsOn,
    });
    const grants: ITerraformDependable[] = [...BASE_JOB_ROLES, ...spec.roles].map((role) => {
      const custom = shared.customRoles.get(role);
      const condition = CUSTOM_ROLES[role]?.condition?.(shared.projectNumber);
      return new ProjectIamMember(this, `role-${role.split(/[/:]/)[1]}`, {
        project,
        role: projectRole(role, project),
        member: this.runtimeAccount.member,
        ...(condition ? { condition } : {}),
        ...(custom ? { dependsOn: [...dependsOn, custom] } : {}),
      });
    });
    for (const grant of spec.kmsGrants ?? []) grants.push(this.grantKms(grant, shared, project));
    const secrets = jobSecrets(spec, settings);
    // Cloud Run checks at deploy time that the runtime account can read every secret it mounts.
    grants.push(
      ...secrets.map(
        (secret) =>
          new SecretManagerSecretIamMember(this, `secret-${secret.secretId}`, {
            secretId: shared.secretRef(secret.secretId),
            role: 'roles/secretmanager.secretAccessor',
            member: this.runtimeAccount.member,
          }),
      ),
    );
    // The first revision starts as the runtime account; its grants must be visible by then.
    const grantsPropagated = new Sleep(this, 'grants-propagated', {
      createDuration: IAM_PROPAGATION_WAIT,
      dependsOn: grants,
    });

    this.invokerAccount = new ServiceAccount(this, 'invoker-account', {
      accountId: invokerAccountId(spec.id),
      displayName: `enx-jobs ${spec.id} invoker`,
      description: `Cloud Scheduler calls the ${spec.id} function as this account, and may call nothing else.`,
      dependsOn,
    });

    // The function's own archive (npm run build: dist/functions/<job id>), holding its job's code
    // and the adapters it declares. The object name carries the content hash, so a new build of
    // this job replaces the object and redeploys this function only; an unchanged one changes
    // nothing.
    const asset = new TerraformAsset(this, 'function-source', {
      path: path.join(settings.functionSource, spec.id),
      type: AssetType.ARCHIVE,
    });
    const sourceObject = new StorageBucketObject(this, 'source-object', {
      bucket: shared.sourceBucket.name,
      name: `functions/${spec.id}/${asset.assetHash}.zip`,
      source: asset.path,
    });

    this.function = new Cloudfunctions2Function(this, 'function', {
      name: spec.id,
      location: settings.region,
      description: spec.description,
      labels: { app: 'enx-jobs', environment: settings.name, job: spec.id },
      buildConfig: {
        runtime: FUNCTION_RUNTIME,
        entryPoint: spec.id,
        serviceAccount: shared.builder.id,
        source: {
          storageSource: { bucket: shared.sourceBucket.name, object: sourceObject.name },
        },
      },
      serviceConfig: {
        serviceAccountEmail: this.runtimeAccount.email,
        // Cloud Run ends a request at this timeout; it is never shorter than the scheduler's
        // attempt deadline, so the scheduler gives up first and the runtime has time to answer.
        timeoutSeconds: functionTimeoutSeconds(spec),
        availableMemory: `${spec.memoryMb}Mi`,
        // A whole vCPU, where the memory alone would give a function 0.167 (256 MiB) or 0.333
        // (512 MiB) of one (infra/runtime-support.ts, FUNCTION_CPU): a cold start is CPU-bound.
        availableCpu: FUNCTION_CPU,
        // One attempt per instance: a job run holds a database connection and a lock, and its
        // timeout is measured per request.
        maxInstanceRequestConcurrency: 1,
        minInstanceCount: 0,
        maxInstanceCount: settings.maxInstances,
        // Cloud Scheduler calls from outside any VPC; Cloud Run's IAM check (roles/run.invoker,
        // held by this job's invoker only) and the runtime's token check keep everyone else out.
        ingressSettings: 'ALLOW_ALL',
        allTrafficOnLatestRevision: true,
        // Private addresses (a database's private IP, a Memorystore Redis) only through the VPC.
        ...(settings.vpcConnector
          ? { vpcConnector: settings.vpcConnector, vpcConnectorEgressSettings: 'PRIVATE_RANGES_ONLY' }
          : {}),
        environmentVariables: jobPlainEnv(spec, {
          settings,
          provided: providedEnv(settings, shared.resources),
          audience: this.url,
          invokerEmail: this.invokerAccount.email,
          database: shared.database.env,
        }),
        secretEnvironmentVariables: secrets.map((secret) => ({
          key: secret.env,
          projectId: project,
          secret: shared.secretRef(secret.secretId),
          version: 'latest',
        })),
      },
      lifecycle: {
        postcondition: [
          {
            condition: `\${self.url == "${this.url}"}`,
            errorMessage: `Google serves ${spec.id} at another URL than ${this.url}, the scheduler's target and token audience; update infra/naming.ts#functionUrl.`,
          },
        ],
      },
      dependsOn: [...dependsOn, grantsPropagated, shared.builderReady],
    });

    // Cloud Run checks this before the request reaches the function: only this job's invoker.
    const invokerBinding = new CloudRunV2ServiceIamMember(this, 'invoker-binding', {
      name: this.function.serviceConfig.service,
      location: settings.region,
      role: 'roles/run.invoker',
      member: this.invokerAccount.member,
    });

    const retry = spec.retry;
    this.schedulerJob = new CloudSchedulerJob(this, 'scheduler-job', {
      name: spec.id,
      region: settings.schedulerRegion,
      description: spec.description.slice(0, 500),
      schedule: spec.schedule.cron,
      timeZone: spec.schedule.timeZone,
      paused: settings.pausedJobs.includes(spec.id),
      attemptDeadline: seconds(spec.attemptDeadlineMs),
      retryConfig: {
        retryCount: retry.retryCount,
        minBackoffDuration: seconds(retry.minBackoffMs),
        maxBackoffDuration: seconds(retry.maxBackoffMs),
        maxDoublings: retry.maxDoublings,
        maxRetryDuration: seconds(retry.maxRetryDurationMs),
      },
      httpTarget: {
        httpMethod: spec.httpMethod,
        uri: this.url,
        oidcToken: { serviceAccountEmail: this.invokerAccount.email, audience: this.url },
      },
      dependsOn: [...dependsOn, invokerBinding, this.function],
    });
  }

  /** A KMS role on the one key or key ring it concerns, never on the project. */
  private grantKms(grant: KmsGrant, shared: Shared, project: string): ITerraformDependable {
    const role = projectRole(grant.role, project);
    const custom = shared.customRoles.get(grant.role);
    const id = `kms-${grant.role.split(/[/:]/)[1]}-${grant.on}`;
    const common = { role, member: this.runtimeAccount.member, ...(custom ? { dependsOn: [custom] } : {}) };
    if (grant.on === 'realm-key-ring') {
      return new KmsKeyRingIamMember(this, id, { keyRingId: shared.realmKeyRing.id, ...common });
    }
    const key = grant.on === 'token-signing-key' ? shared.tokenSigningKey : shared.certificateSigningKey;
    return new KmsCryptoKeyIamMember(this, id, { cryptoKeyId: key.id, ...common });
  }
}
