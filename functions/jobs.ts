/**
 * Each catalog entry joined to its logic. Kept apart from catalog.ts so that reading the catalog
 * (infra, docs, tests of the settings) never loads job code.
 *
 * Each definition is its own export, marked pure: a function's bundle (scripts/build.ts) imports
 * its one definition, and esbuild leaves every other job's code out. The build checks that it did.
 */
import {
  appsyncWorker,
  backupWorker,
  cleanupWorker,
  e2eDefault,
  e2eRedirect,
  e2eRevise,
  e2eUserReport,
  emailerAnomalies,
  emailerSmsErrors,
  fleetWatchdog,
  modelerWorker,
  realmKeyRotationWorker,
  rotationWorker,
  statsPullerWorker,
} from './catalog';
import type { AnyJobDefinition } from './core/job-spec';
import { defineJob } from './core/job-spec';
import { runAppsync } from './jobs/appsync-worker/run';
import { runBackup } from './jobs/backup-worker/run';
import { runCleanup } from './jobs/cleanup-worker/run';
import { runE2eDefault, runE2eRedirect, runE2eRevise, runE2eUserReport } from './jobs/e2e/run';
import { runAnomalies } from './jobs/emailer-anomalies/run';
import { runSmsErrors } from './jobs/emailer-sms-errors/run';
import { runWatchdog } from './jobs/fleet-watchdog/run';
import { runModeler } from './jobs/modeler-worker/run';
import { runRealmKeyRotation } from './jobs/realm-key-rotation-worker/run';
import { runRotation } from './jobs/rotation-worker/run';
import { runStatsPuller } from './jobs/stats-puller-worker/run';

export const cleanupWorkerJob = /* @__PURE__ */ defineJob(cleanupWorker, runCleanup, [
  'keyManager',
  'gauges',
]);
export const fleetWatchdogJob = /* @__PURE__ */ defineJob(fleetWatchdog, runWatchdog, ['metricsExport']);
export const statsPullerWorkerJob = /* @__PURE__ */ defineJob(statsPullerWorker, runStatsPuller, [
  'keyManager',
]);
export const appsyncWorkerJob = /* @__PURE__ */ defineJob(appsyncWorker, runAppsync);
export const e2eDefaultJob = /* @__PURE__ */ defineJob(e2eDefault, runE2eDefault, ['secretStore', 'gauges']);
export const e2eReviseJob = /* @__PURE__ */ defineJob(e2eRevise, runE2eRevise, ['secretStore', 'gauges']);
export const e2eRedirectJob = /* @__PURE__ */ defineJob(e2eRedirect, runE2eRedirect, [
  'secretStore',
  'gauges',
]);
export const e2eUserReportJob = /* @__PURE__ */ defineJob(e2eUserReport, runE2eUserReport, [
  'secretStore',
  'gauges',
]);
export const emailerAnomaliesJob = /* @__PURE__ */ defineJob(emailerAnomalies, runAnomalies, ['mailer']);
export const emailerSmsErrorsJob = /* @__PURE__ */ defineJob(emailerSmsErrors, runSmsErrors, ['mailer']);
export const modelerWorkerJob = /* @__PURE__ */ defineJob(modelerWorker, runModeler, [
  'rateLimiter',
  'gauges',
]);
export const rotationWorkerJob = /* @__PURE__ */ defineJob(rotationWorker, runRotation, [
  'keyManager',
  'secretStore',
]);
export const realmKeyRotationWorkerJob = /* @__PURE__ */ defineJob(
  realmKeyRotationWorker,
  runRealmKeyRotation,
  ['keyManager'],
);
export const backupWorkerJob = /* @__PURE__ */ defineJob(backupWorker, runBackup, ['databaseExport']);

export const jobDefinitions: readonly AnyJobDefinition[] = [
  cleanupWorkerJob,
  fleetWatchdogJob,
  statsPullerWorkerJob,
  appsyncWorkerJob,
  e2eDefaultJob,
  e2eReviseJob,
  e2eRedirectJob,
  e2eUserReportJob,
  emailerAnomaliesJob,
  emailerSmsErrorsJob,
  modelerWorkerJob,
  rotationWorkerJob,
  realmKeyRotationWorkerJob,
  backupWorkerJob,
];
