/**
 * Roles narrower than any predefined one. The catalog names them `custom:<name>`; infra creates each
 * one used in a project (google_project_iam_custom_role) and binds it like a predefined role.
 *
 * Why: a Cloud SQL export needs cloudsql.instances.export, which Google removed from
 * roles/cloudsql.viewer (effective 2026-08-01); the predefined role that still has it,
 * roles/cloudsql.editor, may also reconfigure and stop instances. The backup job needs neither.
 * rotation-worker creates its secrets when they are missing and adds, lists and destroys their
 * versions; roles/secretmanager.secretVersionManager cannot create a secret, and
 * roles/secretmanager.admin could also read every secret's value, which rotation never does.
 */
import { SECRET_TYPES } from '../functions/jobs/rotation-worker/secret-types';

export interface CustomRole {
  readonly roleId: string;
  readonly title: string;
  readonly description: string;
  readonly permissions: readonly string[];
  /** An IAM condition that narrows every binding of the role to some resources of the project. */
  readonly condition?: (projectNumber: string) => IamCondition;
}

export interface IamCondition {
  readonly title: string;
  readonly description: string;
  readonly expression: string;
}

/**
 * Only the secrets rotation-worker rotates, and their versions. Secret Manager names resources
 * with the project number in IAM conditions (projects/<number>/secrets/<id>[/versions/<n>]);
 * https://cloud.google.com/secret-manager/docs/access-control#conditions, read 2026-12-06.
 */
function rotatedSecretsCondition(projectNumber: string): IamCondition {
  const clauses = SECRET_TYPES.flatMap(({ secretId }) => {
    const name = `projects/${projectNumber}/secrets/${secretId}`;
    return [`resource.name == "${name}"`, `resource.name.startsWith("${name}/")`];
  });
  return {
    title: 'enx-jobs rotated secrets only',
    description: `The ${SECRET_TYPES.length} system secrets rotation-worker rotates, never the database password or other secrets.`,
    expression: clauses.join(' || '),
  };
}

export const CUSTOM_ROLES: Readonly<Record<string, CustomRole>> = {
  'custom:cloudSqlExporter': {
    roleId: 'enxJobsCloudSqlExporter',
    title: 'enx-jobs Cloud SQL exporter',
    description:
      'Starts exports of the Cloud SQL instance and reads their operations; cannot change instances or data.',
    permissions: ['cloudsql.instances.export', 'cloudsql.instances.get'],
  },
  // roles/cloudkms.admin would do, but it also carries setIamPolicy on the keys it is granted on;
  // the jobs only create keys and versions, list them, read public keys and destroy old versions.
  'custom:kmsKeyVersionManager': {
    roleId: 'enxJobsKmsKeyVersionManager',
    title: 'enx-jobs KMS key version manager',
    description:
      'Creates signing keys and versions, lists them, reads public keys and destroys old versions; cannot sign, change IAM or import.',
    permissions: [
      'cloudkms.cryptoKeys.create',
      'cloudkms.cryptoKeys.get',
      'cloudkms.cryptoKeys.list',
      'cloudkms.cryptoKeyVersions.create',
      'cloudkms.cryptoKeyVersions.destroy',
      'cloudkms.cryptoKeyVersions.get',
      'cloudkms.cryptoKeyVersions.list',
      'cloudkms.cryptoKeyVersions.viewPublicKey',
    ],
  },
  // Creating a secret is checked on the project, where a condition on the secret's name cannot
  // apply, so it is a role of its own: an empty new secret can neither be read nor harm another.
  'custom:secretCreator': {
    roleId: 'enxJobsSecretCreator',
    title: 'enx-jobs secret creator',
    description: 'Creates Secret Manager secrets (without values); nothing else.',
    permissions: ['secretmanager.secrets.create'],
  },
  'custom:secretRotator': {
    roleId: 'enxJobsSecretRotator',
    title: 'enx-jobs secret rotator',
    description:
      'Adds, lists and destroys versions of the system secrets it rotates; cannot read secret values or touch other secrets.',
    condition: rotatedSecretsCondition,
    permissions: [
      'secretmanager.secrets.get',
      'secretmanager.versions.add',
      'secretmanager.versions.destroy',
      'secretmanager.versions.get',
      'secretmanager.versions.list',
    ],
  },
};

/** The role as IAM knows it in this project: a custom role's full name, or the predefined role. */
export function projectRole(role: string, projectId: string): string {
  const custom = CUSTOM_ROLES[role];
  return custom ? `projects/${projectId}/roles/${custom.roleId}` : role;
}
