/**
 * What every job shares: the bucket of the function source archives, the account that builds the
 * functions, the KMS keys, the Secret Manager secrets, the backup bucket and the database.
 *
 * Secrets are declared without values. Operators add versions (`gcloud secrets versions add`);
 * the one exception is the password of a Cloud SQL instance created here (see database.ts).
 */
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { KmsCryptoKey } from '@cdktf/provider-google/lib/kms-crypto-key';
import { KmsKeyRing } from '@cdktf/provider-google/lib/kms-key-ring';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version';
import { unsetSecretValue } from '../../functions/core/config';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
import { Sleep } from '@cdktf/provider-time/lib/sleep';
import type { FleetResources } from '../job-env';
import { databasePasswordSecretId, deployedJobs, fleetSecrets } from '../job-env';
import { CUSTOM_ROLES } from '../custom-roles';
import { BUILDER_ACCOUNT_ID } from '../naming';
import type { EnvironmentSettings } from '../settings';
import { Database } from './database';

/** Old function archives are deleted after this many days (the current one is re-uploaded). */
export const SOURCE_ARCHIVE_MAX_AGE_DAYS = 30;

/**
 * An asymmetric P-256 signing key. Keys cannot be deleted, and destroying one would take its
 * signatures with it, so Terraform may never destroy them.
 */
function signingKey(
  scope: Construct,
  name: string,
  keyRing: KmsKeyRing,
  protectionLevel: 'HSM' | 'SOFTWARE',
  labels: Record<string, string>,
): KmsCryptoKey {
  // The construct ids of the first (SOFTWARE) keys stay as they were, so their state carries on.
  const id = protectionLevel === 'SOFTWARE' ? `${name}-key` : name;
  return new KmsCryptoKey(scope, id, {
    name,
    keyRing: keyRing.id,
    purpose: 'ASYMMETRIC_SIGN',
    versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel },
    labels,
    lifecycle: { preventDestroy: true },
  });
}

export interface SharedProps {
  readonly settings: EnvironmentSettings;
  readonly dependsOn: readonly ITerraformDependable[];
}

/**
 * IAM grants are eventually consistent: Google documents that a change usually takes effect within
 * 2 minutes and may take 7 or more (https://cloud.google.com/iam/docs/access-change-propagation,
 * read 2026-12-06). The builds and the first revisions wait this long after the grants they need,
 * so a first deploy into an empty project does not fail on a grant that exists but is not yet seen.
 */
export const IAM_PROPAGATION_WAIT = '120s';

/** Roles of the build account: Cloud Build runs as it, writes the image and its logs. */
const BUILDER_ROLES = [
  'roles/cloudbuild.builds.builder',
  'roles/artifactregistry.writer',
  'roles/logging.logWriter',
];

export class Shared extends Construct {
  /** Each function's own source archive is uploaded here (scheduled-job.ts). */
  readonly sourceBucket: StorageBucket;
  readonly builder: ServiceAccount;
  /** Ends IAM_PROPAGATION_WAIT after the builder's grants: what every function build waits for. */
  readonly builderReady: Sleep;
  /** The project's number, which IAM conditions on Secret Manager names use. */
  readonly projectNumber: string;
  readonly backupBucket: StorageBucket;
  readonly tokenSigningKey: KmsCryptoKey;
  readonly certificateSigningKey: KmsCryptoKey;
  readonly realmKeyRing: KmsKeyRing;
  readonly database: Database;
  private readonly secrets = new Map<string, SecretManagerSecret>();
  /** The custom roles the deployed jobs use, by their catalog name (custom:<name>). */
  readonly customRoles = new Map<string, ProjectIamCustomRole>();

  constructor(scope: Construct, id: string, props: SharedProps) {
    super(scope, id);
    const { settings } = props;
    const dependsOn = [...props.dependsOn];
    const labels = { app: 'enx-jobs', environment: settings.name };

    // Every function has its own archive (scheduled-job.ts), all kept in this bucket.
    // Cloud Functions copies an archive when it builds, so old archives are only history. After
    // the rule deletes a current one, the next apply uploads it again (same name, same content)
    // without redeploying anything.
    this.sourceBucket = new StorageBucket(this, 'source-bucket', {
      name: `${settings.projectId}-enx-jobs-source`,
      location: settings.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      lifecycleRule: [{ action: { type: 'Delete' }, condition: { age: SOURCE_ARCHIVE_MAX_AGE_DAYS } }],
      labels,
      dependsOn,
    });

    // Without its own build account a gen2 function builds as the Compute Engine default account,
    // which many organizations strip of roles (or of existence).
    this.builder = new ServiceAccount(this, 'builder', {
      accountId: BUILDER_ACCOUNT_ID,
      displayName: 'enx-jobs function builder',
      description: 'Cloud Build identity for the enx-jobs functions.',
      dependsOn,
    });
    const builderGrants: ITerraformDependable[] = BUILDER_ROLES.map(
      (role) =>
        new ProjectIamMember(this, `builder-${role.split('/')[1]}`, {
          project: settings.projectId,
          role,
          member: this.builder.member,
        }),
    );
    builderGrants.push(
      new StorageBucketIamMember(this, 'builder-source-reader', {
        bucket: this.sourceBucket.name,
        role: 'roles/storage.objectViewer',
        member: this.builder.member,
      }),
    );
    this.builderReady = new Sleep(this, 'builder-grants-propagated', {
      createDuration: IAM_PROPAGATION_WAIT,
      dependsOn: builderGrants,
    });
    this.projectNumber = new DataGoogleProject(this, 'project', {
      projectId: settings.projectId,
      dependsOn,
    }).number;

    // Asymmetric signing keys cannot rotate automatically; rotation-worker adds versions and
    // cleanup-worker destroys old ones. Key rings cannot be deleted, and a destroyed key takes its
    // signatures with it, so Terraform may never destroy them.
    const keyRing = new KmsKeyRing(this, 'key-ring', {
      name: 'enx-jobs',
      location: settings.region,
      dependsOn,
      lifecycle: { preventDestroy: true },
    });
    // HSM, as ENX's own keys were. A key's protection level cannot change, so the HSM keys have
    // names of their own; a deployment that still has the earlier SOFTWARE keys keeps them declared
    // (kms.legacySoftwareKeys) until the migration in docs/deploy.md is done.
    this.tokenSigningKey = signingKey(this, 'token-signing-hsm', keyRing, 'HSM', labels);
    // The system certificate-signing key: signs the stats puller's tokens for realms without a
    // key of their own. Terraform's first version (1) is the one the job uses.
    this.certificateSigningKey = signingKey(this, 'certificate-signing-hsm', keyRing, 'HSM', labels);
    if (settings.kms.legacySoftwareKeys) {
      signingKey(this, 'token-signing', keyRing, 'SOFTWARE', labels);
      signingKey(this, 'certificate-signing', keyRing, 'SOFTWARE', labels);
    }
    // Realm certificate keys are created per realm (realm-<id>) by the realm key rotation, inside
    // their own ring so that a job's rights on realm keys never reach the token key.
    this.realmKeyRing = new KmsKeyRing(this, 'realm-key-ring', {
      name: 'enx-jobs-realms',
      location: settings.region,
      dependsOn,
      lifecycle: { preventDestroy: true },
    });

    const usedRoles = new Set(
      deployedJobs(settings).flatMap((spec) => [
        ...spec.roles,
        ...(spec.kmsGrants ?? []).map((grant) => grant.role),
      ]),
    );
    for (const [name, role] of Object.entries(CUSTOM_ROLES)) {
      if (!usedRoles.has(name)) continue;
      this.customRoles.set(
        name,
        new ProjectIamCustomRole(this, `role-${role.roleId}`, {
          project: settings.projectId,
          roleId: role.roleId,
          title: role.title,
          description: role.description,
          permissions: [...role.permissions],
          dependsOn,
        }),
      );
    }

    const passwordOfCreatedInstance =
      settings.database.mode === 'cloud-sql' ? databasePasswordSecretId(settings) : undefined;
    for (const { secretId, managed } of fleetSecrets(settings)) {
      if (!managed) continue;
      const secret = new SecretManagerSecret(this, `secret-${secretId}`, {
        secretId,
        replication: { auto: {} },
        labels,
        dependsOn,
      });
      this.secrets.set(secretId, secret);
      // Database gives a created instance's password secret its real version.
      if (secretId === passwordOfCreatedInstance) continue;
      // A value infra cannot make up: a placeholder lets the first deploy start every function,
      // and the runtime answers each request with the secret to fill until the operator adds the
      // value (docs/deploy.md). Terraform never rewrites it afterwards.
      new SecretManagerSecretVersion(this, `secret-${secretId}-placeholder`, {
        secret: secret.id,
        secretData: unsetSecretValue(secretId),
        lifecycle: { ignoreChanges: ['secret_data', 'enabled'] },
      });
    }

    this.backupBucket = new StorageBucket(this, 'backup-bucket', {
      name: `${settings.projectId}-enx-jobs-backups`,
      location: settings.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      // Versioning keeps an overwritten or deleted export recoverable for a week.
      versioning: { enabled: true },
      lifecycleRule: [
        { action: { type: 'Delete' }, condition: { age: settings.backupRetentionDays } },
        { action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: 7, withState: 'ARCHIVED' } },
      ],
      labels,
      dependsOn,
    });

    this.database = new Database(this, 'database', {
      settings,
      dependsOn,
      passwordSecret: this.secrets.get(databasePasswordSecretId(settings))?.id,
    });
    if (this.database.instanceServiceAccount) {
      // Cloud SQL exports run as the instance's own account, which must write the backups.
      new StorageBucketIamMember(this, 'sql-backup-writer', {
        bucket: this.backupBucket.name,
        role: 'roles/storage.objectAdmin',
        member: `serviceAccount:${this.database.instanceServiceAccount}`,
      });
    }
  }

  /**
   * The secret to bind a job to: the managed resource (so Terraform creates it first), or the id of
   * an existing secret named in the settings.
   */
  secretRef(secretId: string): string {
    return this.secrets.get(secretId)?.secretId ?? secretId;
  }

  get resources(): FleetResources {
    return {
      tokenSigningKey: this.tokenSigningKey.id,
      certificateSigningKeyVersion: `${this.certificateSigningKey.id}/cryptoKeyVersions/1`,
      realmKeyRing: this.realmKeyRing.id,
      backupBucket: this.backupBucket.name,
      ...(this.database.instanceUrl ? { databaseInstanceUrl: this.database.instanceUrl } : {}),
    };
  }
}
