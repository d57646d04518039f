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
export interface CustomRole {
  readonly roleId: string;
  readonly title: string;
  readonly description: string;
  readonly permissions: readonly string[];
}

export const CUSTOM_ROLES: Readonly<Record<string, CustomRole>> = {
  'custom:cloudSqlExporter': {
    roleId: 'enxJobsCloudSqlExporter',
    title: 'enx-jobs Cloud SQL exporter',
    description:
      'Starts exports of the Cloud SQL instance and reads their operations; cannot change instances or data.',
    permissions: ['cloudsql.instances.export', 'cloudsql.instances.get'],
  },
  'custom:secretRotator': {
    roleId: 'enxJobsSecretRotator',
    title: 'enx-jobs secret rotator',
    description:
      'Creates the system secrets and adds, lists and destroys their versions; cannot read secret values.',
    permissions: [
      'secretmanager.secrets.create',
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
