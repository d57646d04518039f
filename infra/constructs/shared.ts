/**
 * What every job shares: the function source archive and its bucket, the account that builds the
 * functions, the KMS keys, the Secret Manager secrets, the backup bucket and the database.
 *
 * Secrets are declared without values. Operators add versions (`gcloud secrets versions add`);
 * the one exception is the password of a Cloud SQL instance created here (see database.ts).
 */
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { AssetType, TerraformAsset } from 'cdktf';
import { KmsCryptoKey } from '@cdktf/provider-google/lib/kms-crypto-key';
import { KmsKeyRing } from '@cdktf/provider-google/lib/kms-key-ring';
import { ProjectIamCustomRole } from '@cdktf/provider-google/lib/project-iam-custom-role';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { StorageBucketObject } from '@cdktf/provider-google/lib/storage-bucket-object';
import type { FleetResources } from '../job-env';
import { databasePasswordSecretId, deployedJobs, fleetSecrets } from '../job-env';
import { CUSTOM_ROLES } from '../custom-roles';
import { BUILDER_ACCOUNT_ID } from '../naming';
import type { EnvironmentSettings } from '../settings';
import { Database } from './database';

export interface SharedProps {
  readonly settings: EnvironmentSettings;
  readonly dependsOn: readonly ITerraformDependable[];
}

/** Roles of the build account: Cloud Build runs as it, writes the image and its logs. */
const BUILDER_ROLES = [
  'roles/cloudbuild.builds.builder',
  'roles/artifactregistry.writer',
  'roles/logging.logWriter',
];

export class Shared extends Construct {
  readonly sourceBucket: StorageBucket;
  readonly sourceObject: StorageBucketObject;
  readonly builder: ServiceAccount;
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

    // One archive serves every function; each selects its job by entry point. The object name
    // carries the content hash, so a new build replaces the object and redeploys the functions,
    // and an unchanged one changes nothing.
    this.sourceBucket = new StorageBucket(this, 'source-bucket', {
      name: `${settings.projectId}-enx-jobs-source`,
      location: settings.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      labels,
      dependsOn,
    });
    const asset = new TerraformAsset(this, 'function-source', {
      path: settings.functionSource,
      type: AssetType.ARCHIVE,
    });
    this.sourceObject = new StorageBucketObject(this, 'source-object', {
      bucket: this.sourceBucket.name,
      name: `functions/${asset.assetHash}.zip`,
      source: asset.path,
    });

    // Without its own build account a gen2 function builds as the Compute Engine default account,
    // which many organizations strip of roles (or of existence).
    this.builder = new ServiceAccount(this, 'builder', {
      accountId: BUILDER_ACCOUNT_ID,
      displayName: 'enx-jobs function builder',
      description: 'Cloud Build identity for the enx-jobs functions.',
      dependsOn,
    });
    for (const role of BUILDER_ROLES) {
      new ProjectIamMember(this, `builder-${role.split('/')[1]}`, {
        project: settings.projectId,
        role,
        member: this.builder.member,
      });
    }
    new StorageBucketIamMember(this, 'builder-source-reader', {
      bucket: this.sourceBucket.name,
      role: 'roles/storage.objectViewer',
      member: this.builder.member,
    });

    // Asymmetric signing keys cannot rotate automatically; rotation-worker adds versions and
    // cleanup-worker destroys old ones. Key rings cannot be deleted, and a destroyed key takes its
    // signatures with it, so Terraform may never destroy them.
    const keyRing = new KmsKeyRing(this, 'key-ring', {
      name: 'enx-jobs',
      location: settings.region,
      dependsOn,
      lifecycle: { preventDestroy: true },
    });
    this.tokenSigningKey = new KmsCryptoKey(this, 'token-signing-key', {
      name: 'token-signing',
      keyRing: keyRing.id,
      purpose: 'ASYMMETRIC_SIGN',
      versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'SOFTWARE' },
      labels,
      lifecycle: { preventDestroy: true },
    });
    // The system certificate-signing key: signs the stats puller's tokens for realms without a
    // key of their own. Terraform's first version (1) is the one the job uses.
    this.certificateSigningKey = new KmsCryptoKey(this, 'certificate-signing-key', {
      name: 'certificate-signing',
      keyRing: keyRing.id,
      purpose: 'ASYMMETRIC_SIGN',
      versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'SOFTWARE' },
      labels,
      lifecycle: { preventDestroy: true },
    });
    // Realm certificate keys are created per realm (realm-<id>) by the realm key rotation, inside
    // their own ring so that a job's rights on realm keys never reach the token key.
    this.realmKeyRing = new KmsKeyRing(this, 'realm-key-ring', {
      name: 'enx-jobs-realms',
      location: settings.region,
      dependsOn,
      lifecycle: { preventDestroy: true },
    });

    const usedRoles = new Set(deployedJobs(settings).flatMap((spec) => spec.roles));
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

    for (const { secretId, managed } of fleetSecrets(settings)) {
      if (!managed) continue;
      this.secrets.set(
        secretId,
        new SecretManagerSecret(this, `secret-${secretId}`, {
          secretId,
          replication: { auto: {} },
          labels,
          dependsOn,
        }),
      );
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
