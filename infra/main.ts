/**
 * The CDKTF app. For now it only proves the toolchain synthesizes offline; the stacks generated
 * from functions/catalog.ts (functions, scheduler jobs, service accounts, alert policies,
 * dashboards) come with the infrastructure issue. Every cdktf import stays inside infra/.
 */
import { App, TerraformStack } from 'cdktf';

const app = new App();
new TerraformStack(app, 'jobs');
app.synth();
