/**
 * Roles narrower than any predefined one. The catalog names them `custom:<name>`; infra creates each
 * one used in a project (google_project_iam_custom_role) and binds it like a predefined role.
 *
 * Why: a Cloud SQL export needs cloudsql.instances.export, which Google removed from
 * roles/cloudsql.viewer (effective 2026-08-01); the predefined role that still has it,
 * roles/cloudsql.editor, may also reconfigure and stop instances. The backup job needs neither.
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
};

/** The role as IAM knows it in this project: a custom role's full name, or the predefined role. */
export function projectRole(role: string, projectId: string): string {
  const custom = CUSTOM_ROLES[role];
  return custom ? `projects/${projectId}/roles/${custom.roleId}` : role;
}
