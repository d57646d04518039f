/**
 * Each catalog entry joined to its logic. Kept apart from catalog.ts so that reading the catalog
 * (infra, docs, tests of the settings) never loads job code.
 */
import { appsyncWorker, cleanupWorker, fleetWatchdog, statsPullerWorker } from './catalog';
import type { AnyJobDefinition } from './core/job-spec';
import { defineJob } from './core/job-spec';
import { runAppsync } from './jobs/appsync-worker/run';
import { runCleanup } from './jobs/cleanup-worker/run';
import { runWatchdog } from './jobs/fleet-watchdog/run';
import { runStatsPuller } from './jobs/stats-puller-worker/run';

export const jobDefinitions: readonly AnyJobDefinition[] = [
  defineJob(cleanupWorker, runCleanup),
  defineJob(fleetWatchdog, runWatchdog),
  defineJob(statsPullerWorker, runStatsPuller),
  defineJob(appsyncWorker, runAppsync),
];
