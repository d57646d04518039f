/**
 * Each catalog entry joined to its logic. Kept apart from catalog.ts so that reading the catalog
 * (infra, docs, tests of the settings) never loads job code.
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

export const jobDefinitions: readonly AnyJobDefinition[] = [
  defineJob(cleanupWorker, runCleanup),
  defineJob(fleetWatchdog, runWatchdog),
  defineJob(statsPullerWorker, runStatsPuller),
  defineJob(appsyncWorker, runAppsync),
  defineJob(e2eDefault, runE2eDefault),
  defineJob(e2eRevise, runE2eRevise),
  defineJob(e2eRedirect, runE2eRedirect),
  defineJob(e2eUserReport, runE2eUserReport),
  defineJob(emailerAnomalies, runAnomalies),
  defineJob(emailerSmsErrors, runSmsErrors),
  defineJob(modelerWorker, runModeler),
  defineJob(rotationWorker, runRotation),
  defineJob(realmKeyRotationWorker, runRealmKeyRotation),
  defineJob(backupWorker, runBackup),
];
