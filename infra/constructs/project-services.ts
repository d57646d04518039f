/**
 * The Google APIs the fleet uses, enabled by the stack so a fresh project deploys in one apply.
 * Resources that call an API depend on `all`, so Terraform never creates one before its API is on.
 */
import { Construct } from 'constructs';
import { ProjectService } from '@cdktf/provider-google/lib/project-service';

export const REQUIRED_APIS: readonly string[] = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudkms.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'cloudscheduler.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'sqladmin.googleapis.com',
  'storage.googleapis.com',
];

export class ProjectServices extends Construct {
  readonly all: readonly ProjectService[];

  constructor(scope: Construct, id: string, props: { readonly projectId: string }) {
    super(scope, id);
    this.all = REQUIRED_APIS.map(
      (service) =>
        new ProjectService(this, service.split('.')[0], {
          project: props.projectId,
          service,
          // Other workloads of the project may use the same APIs: destroying this stack must not
          // switch them off.
          disableOnDestroy: false,
          disableDependentServices: false,
        }),
    );
  }
}
